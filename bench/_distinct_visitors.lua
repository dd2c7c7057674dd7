-- wrk: every request from another shopper (its own user agent), so every page view is counted
-- as a scan (shipments.scans counts people, not page loads). Used for every target alike. The
-- run's own prefix keeps two rounds (or two runs on the same Redis) from sharing shoppers.
local ua = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    .. "Mobile/15E148 MicroMessenger/8.0.49(0x18003137) NetType/WIFI Language/zh_CN"
math.randomseed(os.time())
local run = tostring(os.time()) .. "." .. tostring(math.random(1, 1000000000))
local n = 0
local thread_id = 0

function setup(thread)
    thread_id = thread_id + 1
    thread:set("id", run .. "." .. thread_id)
end

request = function()
    n = n + 1
    return wrk.format(nil, nil, {["User-Agent"] = ua .. " bench/" .. id .. "-" .. n, ["Accept-Language"] = "zh-CN,zh;q=0.9"})
end

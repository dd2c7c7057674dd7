"""The demo world that `manage.py seed_demo` builds: real places, real crops, made-up people.

GTINs and GLNs use GS1's 952 prefix, reserved for examples; their check digits are computed.
"""

from decimal import Decimal

CROPS = [
    # code, zh, en, variety zh, variety en, category, storage zh, storage en, GTIN body (13 digits)
    (
        "WAX",
        "杨梅",
        "Waxberry",
        "东魁杨梅",
        "Dongkui",
        "fruit",
        "0–4°C 冷藏，3 天内食用最佳；食用前用淡盐水浸泡 10 分钟。",
        "Keep at 0–4°C and eat within 3 days; soak in lightly salted water for 10 minutes before eating.",
        "0952000000101",
    ),
    (
        "BAM",
        "春笋",
        "Spring bamboo shoot",
        "毛竹春笋",
        "Moso",
        "vegetable",
        "带壳冷藏，2 天内烹饪，久放会变老发苦。",
        "Refrigerate in the husk and cook within 2 days; they turn tough and bitter with time.",
        "0952000000102",
    ),
    (
        "ORG",
        "脐橙",
        "Navel orange",
        "赣南脐橙",
        "Gannan",
        "fruit",
        "阴凉通风处可存放两周，冷藏可达一个月。",
        "Keeps two weeks in a cool, airy place and up to a month in the fridge.",
        "0952000000103",
    ),
    (
        "TOM",
        "番茄",
        "Tomato",
        "粉果番茄",
        "Pink beefsteak",
        "vegetable",
        "常温避光存放，不要冷藏，以免风味变淡。",
        "Store at room temperature out of the sun; the fridge dulls the flavour.",
        "0952000000104",
    ),
    (
        "CUC",
        "黄瓜",
        "Cucumber",
        "水果黄瓜",
        "Mini cucumber",
        "vegetable",
        "用保鲜膜包好冷藏，5 天内食用。",
        "Wrap and refrigerate; eat within 5 days.",
        "0952000000105",
    ),
    (
        "RIC",
        "大米",
        "Rice",
        "五常稻花香",
        "Wuchang Daohuaxiang",
        "grain",
        "密封、阴凉、干燥处保存，开袋后三个月内食用。",
        "Keep sealed in a cool, dry place; use within three months of opening.",
        "0952000000106",
    ),
]

# Storage ranges (°C, lowest and highest) of the demo crops: temperature readings outside them are
# recorded and flagged as excursions. Waxberries and bamboo shoots keep near 0 °C; citrus chills
# below about 3 °C; tomatoes and cucumbers suffer chilling injury in a cold store (below 10 and
# about 7 °C); milled rice keeps dry below 25 °C.
STORAGE_C = {
    "WAX": ("0", "5"),
    "BAM": ("0", "5"),
    "ORG": ("3", "8"),
    "TOM": ("10", "15"),
    "CUC": ("7", "12"),
    "RIC": ("0", "25"),
}

VILLAGES = [
    {
        "code": "XJ",
        "name_zh": "仙居县步路乡杨梅村",
        "name_en": "Yangmei Village, Xianju",
        "province_zh": "浙江省",
        "province_en": "Zhejiang",
        "county_zh": "台州市仙居县",
        "county_en": "Xianju County, Taizhou",
        "latitude": Decimal("28.846900"),
        "longitude": Decimal("120.728700"),
        "story_zh": "仙居种植杨梅已有一千多年历史。村里的杨梅园分布在海拔三百米的山坡上，昼夜温差大、云雾多，"
        "结出的东魁杨梅果大核小、酸甜多汁。每年六月，全村人凌晨上山采摘，当天预冷、装箱，直送城市门店。",
        "story_en": "Xianju has grown waxberries for more than a thousand years. The village orchards climb misty "
        "hillsides 300 metres up, where cool nights give the Dongkui waxberry its size and sweet-sour juice. "
        "Every June the whole village picks before dawn; the fruit is cooled, packed and on its way to city "
        "stores the same day.",
        "specialties": ["WAX", "BAM"],
        "gln_body": "952000000001",
        "address_zh": "浙江省台州市仙居县步路乡杨梅村村委会",
        "address_en": "Yangmei Village Committee, Bulu Township, Xianju County, Taizhou, Zhejiang",
        "phone": "0576-8773 0001",
        "time_zone": "Asia/Shanghai",
        "farms": [
            (
                "王家杨梅园",
                "Wang Family Waxberry Orchard",
                "王建国",
                "13805760001",
                "绿色食品 A级\nGAP 认证",
                "浙江省台州市仙居县步路乡杨梅村东坡 8 号",
                "8 East Slope, Yangmei Village, Bulu Township, Xianju, Zhejiang",
                [
                    ("东坡地", "East Slope", "28.847500", "120.729900", "12.5"),
                    ("老茶园地", "Old Tea Garden Plot", "28.845200", "120.727100", "8.0"),
                ],
            ),
            (
                "李家竹林",
                "Li Family Bamboo Grove",
                "李秀英",
                "13805760002",
                "有机转换期",
                "浙江省台州市仙居县步路乡杨梅村后山 3 号",
                "3 Back Hill, Yangmei Village, Bulu Township, Xianju, Zhejiang",
                [("后山竹林", "Back Hill Grove", "28.849000", "120.731000", "20.0")],
            ),
        ],
    },
    {
        "code": "XW",
        "name_zh": "寻乌县澄江镇脐橙村",
        "name_en": "Qiancheng Village, Xunwu",
        "province_zh": "江西省",
        "province_en": "Jiangxi",
        "county_zh": "赣州市寻乌县",
        "county_en": "Xunwu County, Ganzhou",
        "latitude": Decimal("24.963000"),
        "longitude": Decimal("115.646300"),
        "story_zh": "寻乌地处赣粤闽三省交界，红壤丘陵、光照充足。合作社的果农坚持树上挂果到完全成熟才采摘，"
        "脐橙皮薄肉脆、甜度高，是赣南脐橙的核心产区。",
        "story_en": "Xunwu sits where Jiangxi, Guangdong and Fujian meet: red-soil hills and long sunny days. "
        "The cooperative leaves its navel oranges on the tree until fully ripe, for thin skins, crisp flesh "
        "and high sweetness, at the heart of the Gannan orange country.",
        "specialties": ["ORG"],
        "gln_body": "952000000002",
        "address_zh": "江西省赣州市寻乌县澄江镇脐橙村 12 号",
        "address_en": "12 Qiancheng Village, Chengjiang Town, Xunwu County, Ganzhou, Jiangxi",
        "phone": "0797-2832 0002",
        "time_zone": "Asia/Shanghai",
        "farms": [
            (
                "刘家果场",
                "Liu Family Grove",
                "刘德华",
                "13907970003",
                "地理标志产品",
                "江西省赣州市寻乌县澄江镇脐橙村南岭 21 号",
                "21 South Ridge, Qiancheng Village, Chengjiang Town, Xunwu, Jiangxi",
                [("南岭一号地", "South Ridge No. 1", "24.962100", "115.645000", "30.0")],
            ),
        ],
    },
    {
        "code": "SG",
        "name_zh": "寿光市三元朱村",
        "name_en": "Sanyuanzhu Village, Shouguang",
        "province_zh": "山东省",
        "province_en": "Shandong",
        "county_zh": "潍坊市寿光市",
        "county_en": "Shouguang, Weifang",
        "latitude": Decimal("36.855000"),
        "longitude": Decimal("118.791000"),
        "story_zh": "三元朱村是中国冬暖式蔬菜大棚的发源地。村里的大棚四季出菜，番茄、黄瓜按订单种植，"
        "采摘后两小时内进冷库，次日清晨到达门店。",
        "story_en": "Sanyuanzhu is where China's winter-warm vegetable greenhouses began. Its greenhouses crop "
        "all year: tomatoes and cucumbers are grown to order, chilled within two hours of picking and in "
        "stores the next morning.",
        "specialties": ["TOM", "CUC"],
        "gln_body": "952000000003",
        "address_zh": "山东省潍坊市寿光市孙家集街道三元朱村",
        "address_en": "Sanyuanzhu Village, Sunjiaji Subdistrict, Shouguang, Weifang, Shandong",
        "phone": "0536-5461 0003",
        "time_zone": "Asia/Shanghai",
        "farms": [
            (
                "王乐义合作农场",
                "Wang Leyi Co-op Farm",
                "王乐义",
                "13606360004",
                "无公害农产品",
                "山东省潍坊市寿光市孙家集街道三元朱村 1 号",
                "1 Sanyuanzhu Village, Sunjiaji Subdistrict, Shouguang, Shandong",
                [
                    ("3号大棚", "Greenhouse 3", "36.855400", "118.790500", "1.5"),
                    ("7号大棚", "Greenhouse 7", "36.856100", "118.791800", "1.5"),
                ],
            ),
        ],
    },
    {
        "code": "WC",
        "name_zh": "五常市民乐朝鲜族乡",
        "name_en": "Minle, Wuchang",
        "province_zh": "黑龙江省",
        "province_en": "Heilongjiang",
        "county_zh": "哈尔滨市五常市",
        "county_en": "Wuchang, Harbin",
        "latitude": Decimal("44.931900"),
        "longitude": Decimal("127.167600"),
        "story_zh": "五常位于黑土地带，一年一季稻，生长期长达 145 天。拉林河水灌溉的稻花香大米，煮出来油亮清香。",
        "story_en": "Wuchang lies on the black-soil belt with one long rice season a year, 145 days. Irrigated by "
        "the Lalin River, its Daohuaxiang rice cooks glossy and fragrant.",
        "specialties": ["RIC"],
        "gln_body": "952000000004",
        "address_zh": "黑龙江省哈尔滨市五常市民乐朝鲜族乡民乐村",
        "address_en": "Minle Village, Minle Korean Ethnic Township, Wuchang, Harbin, Heilongjiang",
        "phone": "0451-5351 0004",
        "time_zone": "Asia/Shanghai",
        "farms": [
            (
                "金稻田家庭农场",
                "Golden Paddy Family Farm",
                "朴成浩",
                "13804510005",
                "有机产品认证",
                "黑龙江省哈尔滨市五常市民乐朝鲜族乡红光村 5 号",
                "5 Hongguang Village, Minle Township, Wuchang, Heilongjiang",
                [("拉林河一号田", "Lalin River Paddy 1", "44.930000", "127.165000", "50.0")],
            ),
        ],
    },
]

RECIPES = [
    # title, language, crops, ingredients, steps
    (
        "冰镇杨梅",
        "zh-hans",
        ["WAX"],
        "杨梅 500 克\n盐 1 小勺\n冰糖 30 克",
        "杨梅用淡盐水浸泡 10 分钟后冲净。\n冰糖加少量开水化开，放凉。\n杨梅拌入糖水，冷藏 1 小时后食用。",
    ),
    (
        "杨梅酒",
        "zh-hans",
        ["WAX"],
        "杨梅 1 千克\n高粱酒 1.5 升\n冰糖 200 克",
        "杨梅洗净晾干。\n与冰糖一层层放入玻璃罐。\n倒入高粱酒密封，阴凉处放置 30 天。",
    ),
    (
        "Chilled waxberries in syrup",
        "en",
        ["WAX"],
        "500 g waxberries\n1 tsp salt\n30 g rock sugar",
        "Soak the waxberries in lightly salted water for 10 minutes, then rinse.\n"
        "Dissolve the sugar in a little hot water and let it cool.\n"
        "Toss the berries in the syrup and chill for an hour.",
    ),
    (
        "油焖春笋",
        "zh-hans",
        ["BAM"],
        "春笋 500 克\n生抽 2 勺\n老抽 1 勺\n白糖 1 勺",
        "春笋剥壳切滚刀块，焯水 2 分钟。\n热油下笋块煸炒至微黄。\n加生抽、老抽、白糖和少量水，小火焖 10 分钟收汁。",
    ),
    (
        "Braised spring bamboo shoots",
        "en",
        ["BAM"],
        "500 g spring bamboo shoots\n2 tbsp light soy sauce\n1 tbsp dark soy sauce\n1 tbsp sugar",
        "Peel and cut the shoots into wedges; blanch for 2 minutes.\nFry in hot oil until lightly golden.\n"
        "Add the sauces, sugar and a splash of water; simmer 10 minutes until glossy.",
    ),
    (
        "脐橙蒸蛋",
        "zh-hans",
        ["ORG"],
        "脐橙 1 个\n鸡蛋 1 个\n牛奶 50 毫升",
        "脐橙切顶，挖出果肉榨汁。\n橙汁、鸡蛋和牛奶搅匀过筛，倒回橙盅。\n盖上橙盖，中火蒸 12 分钟。",
    ),
    (
        "Orange and fennel salad",
        "en",
        ["ORG"],
        "2 navel oranges\n1 fennel bulb\nOlive oil\nSalt",
        "Peel and slice the oranges into rounds.\nShave the fennel thinly.\nLayer, dress with oil and a pinch of salt.",
    ),
    (
        "番茄炒蛋",
        "zh-hans",
        ["TOM"],
        "番茄 2 个\n鸡蛋 3 个\n葱花\n盐、糖少许",
        "鸡蛋打散炒至凝固盛出。\n番茄切块炒出汁，加少许糖和盐。\n倒回鸡蛋翻匀，撒葱花出锅。",
    ),
    (
        "Tomato and egg stir-fry",
        "en",
        ["TOM"],
        "2 tomatoes\n3 eggs\nSpring onion\nSalt and a little sugar",
        "Scramble the eggs until just set; set aside.\nCook the tomato wedges until juicy; season.\n"
        "Return the eggs, toss and finish with spring onion.",
    ),
    (
        "拍黄瓜",
        "zh-hans",
        ["CUC"],
        "黄瓜 2 根\n蒜 3 瓣\n香醋 2 勺\n生抽 1 勺\n香油",
        "黄瓜拍裂切段。\n蒜切末，与醋、生抽、香油调汁。\n浇汁拌匀，冷藏 10 分钟更入味。",
    ),
    (
        "Smashed cucumber salad",
        "en",
        ["CUC"],
        "2 cucumbers\n3 garlic cloves\n2 tbsp black vinegar\n1 tbsp soy sauce\nSesame oil",
        "Smash the cucumbers and cut into chunks.\nMix minced garlic, vinegar, soy and sesame oil.\n"
        "Toss and chill for 10 minutes.",
    ),
    (
        "稻花香米饭",
        "zh-hans",
        ["RIC"],
        "五常大米 2 杯\n清水 2.2 杯",
        "大米轻淘两遍，不要用力搓。\n浸泡 30 分钟。\n按 1:1.1 加水煮饭，焖 10 分钟再开盖。",
    ),
]

RETAILERS = [
    {
        "name_zh": "鲜到家超市",
        "name_en": "FreshHome Market",
        "address_zh": "上海市静安区江场路 1401 号",
        "address_en": "No. 1401 Jiangchang Road, Jing'an District, Shanghai",
        "phone": "400-820-0100",
        "gln_body": "952000000100",
        "gs1_company_prefix": "9520000001",  # GS1's 952 range for examples; its GLNs start with it
        "label_qr": "item",
        "label_date": "17",
        "suppliers": ["XJ", "XW", "SG"],
        "stores": [
            (
                "上海静安店",
                "Shanghai Jing'an",
                "上海",
                "Shanghai",
                "静安区南京西路 1266 号",
                "No. 1266 West Nanjing Road, Jing'an District, Shanghai",
                "952000000101",
                "021-6288 0101",
                "31.228600",
                "121.448000",
            ),
            (
                "杭州西湖店",
                "Hangzhou West Lake",
                "杭州",
                "Hangzhou",
                "西湖区文三路 398 号",
                "No. 398 Wensan Road, Xihu District, Hangzhou, Zhejiang",
                "952000000102",
                "0571-8799 0102",
                "30.279000",
                "120.130000",
            ),
        ],
    },
    {
        "name_zh": "绿源生鲜",
        "name_en": "GreenSource Fresh",
        "address_zh": "北京市朝阳区酒仙桥路 10 号",
        "address_en": "No. 10 Jiuxianqiao Road, Chaoyang District, Beijing",
        "phone": "400-610-0200",
        "gln_body": "952000000200",
        "gs1_company_prefix": "9520000002",
        "suppliers": ["SG", "WC"],
        "stores": [
            (
                "北京朝阳店",
                "Beijing Chaoyang",
                "北京",
                "Beijing",
                "朝阳区建国路 89 号",
                "No. 89 Jianguo Road, Chaoyang District, Beijing",
                "952000000201",
                "010-6500 0201",
                "39.908700",
                "116.466000",
            ),
            (
                "深圳南山店",
                "Shenzhen Nanshan",
                "深圳",
                "Shenzhen",
                "南山区科技园南路 18 号",
                "No. 18 Keji Park South Road, Nanshan District, Shenzhen, Guangdong",
                "952000000202",
                "0755-2601 0202",
                "22.541000",
                "113.954000",
            ),
        ],
    },
]

PASSWORD = "demo-password"

# username, role, village code or retailer name, description
USERS = [
    ("farmer", "farmer", "XJ", "farmer in Xianju (waxberries, bamboo)"),
    ("coordinator", "coordinator", "XJ", "village coordinator of Xianju"),
    ("farmer2", "farmer", "XW", "farmer in Xunwu (navel oranges)"),
    ("retailer", "retailer", "鲜到家超市", "staff of FreshHome Market"),
    ("retailer2", "retailer", "绿源生鲜", "staff of GreenSource Fresh"),
    ("auditor", "auditor", None, "food-safety auditor, reads everything"),
    ("admin", "superuser", None, "superuser for the Django admin"),
]

# Batches: key, village, farm index, field index, crop, days ago harvested, quantity, unit, temps (cooling, transit)
BATCHES = [
    ("xj-wax-1", "XJ", 0, 0, "WAX", 2, "480", "kg", "2.5", "3.1"),
    ("xj-wax-2", "XJ", 0, 1, "WAX", 1, "350", "kg", "2.8", "3.4"),
    ("xj-bam-1", "XJ", 1, 0, "BAM", 3, "200", "kg", "4.0", "4.6"),
    ("xw-org-1", "XW", 0, 0, "ORG", 5, "1200", "kg", "6.0", "7.2"),
    ("sg-tom-1", "SG", 0, 0, "TOM", 2, "600", "kg", "10.5", "11.0"),
    ("sg-cuc-1", "SG", 0, 1, "CUC", 2, "400", "kg", "8.0", "8.5"),
    ("wc-ric-1", "WC", 0, 0, "RIC", 40, "2000", "kg", None, None),
]

# Shipments: village, store name, carrier, reference, items [(batch key, quantity)], final state
SHIPMENTS = [
    ("XJ", "上海静安店", "顺丰冷运", "BOL-2026-0001", [("xj-wax-1", "120"), ("xj-bam-1", "40")], "delivered"),
    ("XJ", "杭州西湖店", "顺丰冷运", "BOL-2026-0002", [("xj-wax-2", "150")], "dispatched"),
    ("XW", "上海静安店", "京东冷链", "BOL-2026-0003", [("xw-org-1", "500")], "packed"),
    ("SG", "北京朝阳店", "京东冷链", "BOL-2026-0004", [("sg-tom-1", "200"), ("sg-cuc-1", "150")], "delivered"),
    ("WC", "深圳南山店", "德邦物流", "BOL-2026-0005", [("wc-ric-1", "800")], "draft"),
    ("SG", "深圳南山店", "德邦物流", "BOL-2026-0006", [("sg-tom-1", "100")], "cancelled"),
    ("XJ", "上海静安店", "顺丰冷运", "BOL-2026-0007", [("xj-wax-gift", "60")], "dispatched"),
]

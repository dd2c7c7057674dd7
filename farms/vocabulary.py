"""The words growers record in Chinese that shoppers read in either language: quality-test types
and certifications. Recording stays free text; a term found here (by its code, its Chinese or its
English wording, ignoring case and spaces) is shown in the reader's language, anything else as
entered. Framework-free, and the one place that decides:
- `recorded()`: what is stored for what a door was given. A term given by its code is stored as its
  Chinese wording; any wording (Chinese, English, another growers use) or other text as entered,
  trimmed, since `term()` shows a known wording in the reader's language anyway. Every door
  records through it: quality tests in `traceability.lifecycle.check_farm_event` (the batch forms,
  the API, the phone's outbox, corrections), certifications in `farms.models.Farm.clean_fields`
  (the farm form, the API, the admin);
- `term()`: what a reader sees (the consumer page);
- `choices()` and `entries()`: what the forms and the API offer, in the reader's language.
"""

# code: (Chinese, English, other wordings growers use)
QUALITY_TESTS = {
    "pesticide_residue": (
        "农药残留快速检测",
        "Pesticide residue rapid test",
        ("农药残留快检", "农残速测", "农残快检", "农药残留检测", "农残检测"),
    ),
    "heavy_metals": ("重金属检测", "Heavy metals test", ("重金属",)),
    "microbiology": ("微生物检测", "Microbiological test", ("微生物",)),
    "sugar_content": ("糖度检测", "Sugar content (Brix)", ("糖度",)),
    "nitrite": ("亚硝酸盐检测", "Nitrite test", ("亚硝酸盐",)),
}
CERTIFICATIONS = {
    "green_food_a": ("绿色食品 A级", "Green Food, grade A", ("绿色食品A级",)),
    "green_food_aa": ("绿色食品 AA级", "Green Food, grade AA", ("绿色食品AA级",)),
    "organic": ("有机产品认证", "Certified organic", ("有机认证", "有机产品")),
    "organic_conversion": ("有机转换期", "In conversion to organic", ()),
    "gap": ("GAP 认证", "GAP certified", ("GAP认证", "良好农业规范认证")),
    "geographical_indication": (
        "地理标志产品",
        "Geographical indication product",
        ("农产品地理标志", "国家地理标志产品"),
    ),
    "pollution_free": ("无公害农产品", "Pollution-free produce", ()),
}


def _key(text: str) -> str:
    return "".join(text.split()).casefold()


def _index(vocabulary: dict) -> dict:
    index = {}
    for code, (zh, en, others) in vocabulary.items():
        for wording in (code, zh, en, *others):
            index[_key(wording)] = (zh, en)
    return index


_VOCABULARIES = {"test": QUALITY_TESTS, "certification": CERTIFICATIONS}
_INDEXES = {kind: _index(vocabulary) for kind, vocabulary in _VOCABULARIES.items()}


def recorded(kind: str, text: str) -> str:
    """What to store for `text` given at any door: a term's code as its Chinese wording, anything
    else (a known wording or free text) as entered, trimmed."""
    text = text.strip()
    vocabulary = _VOCABULARIES[kind]
    code = text.casefold()
    return vocabulary[code][0] if code in vocabulary else text


def canonical(kind: str, text: str) -> str | None:
    """The Chinese wording of a known term (by its code or any wording), None for other text."""
    found = _INDEXES[kind].get(_key(text))
    return None if found is None else found[0]


def recorded_lines(kind: str, text: str) -> str:
    """`recorded` for each non-empty line (a farm's certifications, one per line), repeats dropped."""
    lines = (recorded(kind, line) for line in text.splitlines() if line.strip())
    return "\n".join(dict.fromkeys(lines))


def term(kind: str, text: str, language: str) -> str:
    """`text` (a quality-test type when kind is "test", a certification when "certification")
    in `language` ("en" or Chinese): as entered when it is already written in that language or
    the vocabulary does not know it, else the vocabulary's wording."""
    if _is_chinese(text) == (language != "en"):
        return text
    found = _INDEXES[kind].get(_key(text))
    if found is None:
        return text
    return found[1] if language == "en" else found[0]


def _is_chinese(text: str) -> bool:
    return any("\u4e00" <= char <= "\u9fff" for char in text)


def choices(kind: str, language: str) -> list[tuple[str, str]]:
    """(stored Chinese wording, label in `language`) pairs, for a form's choice list."""
    return [(zh, en if language == "en" else zh) for zh, en, _others in _VOCABULARIES[kind].values()]


def entries(kind: str) -> list[dict]:
    """Every term of a vocabulary as the API lists it: code, Chinese, English."""
    return [{"code": code, "zh": zh, "en": en} for code, (zh, en, _others) in _VOCABULARIES[kind].items()]

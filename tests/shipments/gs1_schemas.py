"""The JSON schemas a GS1-Conformant resolver's answers must pass, written out for jsonschema.

LINKSET_SCHEMA states the constraints of GS1's linkset schema (the public repository gs1/linkset,
gs1-linkset-schema.json, which GS1's resolver test suite validates every linkset against):
`linkset` an array of objects with `anchor` and `itemDescription` required and nothing else but
link relation types (a lower-case name or an http(s) URI); each link object has `href` and
`title` required and only `hreflang` (two-letter tags, optionally with a two-letter region:
`zh-Hans` does not match), `type`, `context`, `fwqs` and `public` besides.

DESCRIPTION_FILE_SCHEMA states those of the resolver description file schema of the
GS1-Conformant Resolver standard (description-file-schema, version 1.2.0): `resolverRoot` and
`supportedPrimaryKeys` required, primary keys from GS1's list, `supportedLinkType` objects with a
`namespace` and a `prefix` ending in ":".
"""

URI_PATTERN = r"^https?://[a-zA-z0-9./]+"

LINKSET_SCHEMA = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "required": ["linkset"],
    "additionalProperties": False,
    "properties": {
        "linkset": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["anchor", "itemDescription"],
                "additionalProperties": False,
                "properties": {
                    "anchor": {"type": "string", "pattern": URI_PATTERN},
                    "itemDescription": {"type": "string"},
                },
                "patternProperties": {
                    r"(?!(anchor|itemDescription))^([a-z-]+$)|(^https?://[a-zA-z0-9./]+$)": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["href", "title"],
                            "additionalProperties": False,
                            "properties": {
                                "href": {"type": "string", "pattern": URI_PATTERN},
                                "title": {"type": "string"},
                                "hreflang": {
                                    "type": "array",
                                    "items": {"type": "string", "pattern": r"(^\w{2}$)|(^\w{2}-\w{2}$)"},
                                },
                                "type": {"type": "string", "pattern": r"\w+/[-+.\w]+"},
                                "context": {"type": "array"},
                                "fwqs": {"type": "boolean"},
                                "public": {"type": "boolean"},
                            },
                        },
                    }
                },
            },
        }
    },
}

PRIMARY_KEYS = ["all", "01", "8006", "8013", "8010", "410", "411", "412", "413", "414", "415", "417", "8017"]
PRIMARY_KEYS += ["8018", "255", "00", "253", "401", "402", "8003", "8004"]

DESCRIPTION_FILE_SCHEMA = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "required": ["resolverRoot", "supportedPrimaryKeys"],
    "properties": {
        "resolverRoot": {"type": "string"},
        "supportedPrimaryKeys": {"type": "array", "items": {"type": "string", "enum": PRIMARY_KEYS}},
        "name": {"type": "string"},
        "supportedLinkType": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["namespace", "prefix"],
                "properties": {
                    "namespace": {"type": "string"},
                    "prefix": {"type": "string", "pattern": r"^[a-zA-Z_][A-Za-z0-9_-]*?:$"},
                },
            },
        },
        "linkTypeDefaultCanBeLinkset": {"type": "boolean"},
        "supportedContextValuesEnumerated": {"type": "array", "items": {"type": "string"}},
        "jsonLdContextLocation": {"type": "string"},
    },
}

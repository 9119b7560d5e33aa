#!/usr/bin/env python3
"""Hand-written edge-case inputs for the evaluator (oracle input format).

Writes flags-runtime/tests/vectors/edge-*.json. Only inputs are written here; the expected
answers come from the oracle (regenerate.sh runs oracle.py on each file).

Each file crosses a set of flags with a set of subjects, so every operator and shape meets
every kind of value (missing, null, wrong type, edge formats).
"""

import json
import os
import sys
import zlib

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "flags-runtime", "tests", "vectors")


def flag(key, groups, *, active=True, multivariate=None, payloads=None, agg=None, **extra):
    filters = {"groups": groups, "payloads": payloads or {}}
    if multivariate is not None:
        filters["multivariate"] = {"variants": multivariate}
    if agg is not None:
        filters["aggregation_group_type_index"] = agg
    filters.update(extra.pop("filters_extra", {}))
    f = {"id": zlib.crc32(key.encode()) % 100000, "key": key, "active": active, "filters": filters,
         "ensure_experience_continuity": False}
    f.update(extra)
    return f


def prop(key, operator, value, type_="person", **extra):
    p = {"key": key, "operator": operator, "value": value, "type": type_}
    p.update(extra)
    return p


def cond(props=(), rollout=100, variant=None, **extra):
    c = {"properties": list(props), "rollout_percentage": rollout, "variant": variant}
    c.update(extra)
    return c


def write(name, definitions, users, cases=None):
    if cases is None:
        cases = [{"flag": f["key"], "distinct_id": did}
                 for f in definitions["flags"] for did in users]
    doc = {"meta": {"generator": "scripts/oracle/edge_cases.py", "name": name},
           "definitions": definitions, "users": users, "cases": cases}
    with open(os.path.join(OUT, f"edge-{name}.json"), "w") as fh:
        json.dump(doc, fh, separators=(",", ":"), ensure_ascii=False)
        fh.write("\n")


# ------------------------------------------------------------------------------ operators
VALUES = [
    "abc", "ABC", "Abc Def", "", " ", "true", "TRUE", "False", "yes", "10", "10.5", "-3",
    "1e3", ".5", "5.", "+7", "0x10", "inf", "nan", "forty", 0, 1, 10, 10.5, -3, 1e20, 1.5e-7,
    0.00001, True, False, None, [], ["a", "b"], [True, "true"], {"k": 1, "a": [1, 2]},
    "user@example.com", "Ünïcödé", "straße", "ΣΑΣ", "x\n", "a\x1cb", "日本語123", "café",
    "1.2.3", "v1.2.3", "1.2.3-beta.1", "1.2", "01.2.3", "1.02.3", " 2.0.0 ", "3", "1.2.3.4",
    "V2", "vv1.0.0", "1..3", "2024-01-15", "2024-01-15T10:30:00Z", "2024-01-15T10:30:00+02:00",
    "2024-01-15 10:30:00", "2024-01-15T10:30:00.123456", "20240115", "2024-13-01", "2024-02-30",
    "2024-01-15T25:00:00", "2024", "2023-12-31T23:59:59-01:00", "2024-01-15T10:30Z",
    "2024-01-15 UTC", "15/01/2024", 1705312200,
    "2024-01-15T10:30:00.123Z", "2024-01-15T10", "2024-01-15T1030", "2024-01-15T10:30:00,5",
    "2024-W03-1", "2024-015", "2024-01-15T10:30:00+0530", "2024-01-15T10:30:00+05",
    "2024-01-15T10:30:00.1234567", "2024-01-15t10:30:00", "2024-01-15T10:30:00 +01:00",
    "2024-01-15T10:30:00-00:00", "2024-01-15T10:30:00.5+01:00", "2024-01-15T24:00:00",
    "2024-01-15T10:30:60", "20240115T103000", "2024-01-15T10:30:00Z ", " 2024-01-15 ",
    "2024-01-15T10:30:00+01:00:30", "2024-01-15T10:30:00.123+01:00:30.5", "2024-1-5",
    "+2024-01-15", "2024-01-15x10:30", "2024-01-15é10:30", "0001-01-01", "9999-12-31T23:59:59",
    "2020-W53", "2021-W53", "2024W031", "2024W03", "2024-W03-8", "2024-W00", "2026-W01-1T10:00",
]


def operator_flags():
    specs = [
        ("exact", "abc"), ("exact", ["abc", "def"]), ("exact", ["ABC"]), ("exact", 10),
        ("exact", "10"), ("exact", 10.5), ("exact", ["true"]), ("exact", True), ("exact", "false"),
        ("exact", []), ("exact", None), ("exact", ["a", "b"]), ("exact", "straße"),
        ("exact", "σας"), ("exact", ["1e+20", "1.5e-7", "0.00001"]),
        ("is_not", "abc"), ("is_not", ["abc", "x"]), ("is_not", None), ("is_not", True),
        ("is_set", "is_set"), ("is_not_set", "is_not_set"),
        ("icontains", "b"), ("icontains", "B"), ("icontains", "ß"), ("icontains", "0"),
        ("icontains", ""), ("icontains", 1), ("not_icontains", "abc"),
        ("starts_with", "ab"), ("not_starts_with", "AB"), ("ends_with", "C"),
        ("not_ends_with", ".com"), ("ends_with", ".0"),
        ("regex", "^a"), ("regex", "(?i)^abc"), ("regex", "b$"), ("regex", "^\\d+$"),
        ("regex", "\\w+"), ("regex", "\\s"), ("regex", "["), ("regex", "a{2,}"),
        ("regex", "(a+)+"), ("regex", "\\bfoo"), ("regex", "[\\b]"), ("regex", ""),
        ("regex", "^(?:abc|def)$"), ("regex", "a**"), ("regex", "x{1}{2}"), ("regex", "\\x41"),
        ("regex", "[a-\\d]"), ("regex", "(?P<n>a)"), ("regex", "\\1"), ("regex", "."),
        ("regex", "^.+@example\\.com$"), ("regex", "}"), ("regex", "a|*"), ("regex", "()+"),
        ("regex", "\\-"), ("regex", "[[:alpha:]]"), ("regex", 10), ("regex", "\\Z"),
        ("not_regex", "^a"), ("not_regex", "["), ("not_regex", ""), ("not_regex", "(?=a)"),
        ("regex", "a{,3}"), ("regex", "a{3,1}"), ("regex", "(?:a|b)+$"), ("regex", "^$"),
        ("regex", "[^a-z]"), ("regex", "\\d{2,4}"), ("regex", "[a-z]+?"), ("regex", "a?+"),
        ("regex", "[.]"), ("regex", "\\/"), ("regex", "\\ "), ("regex", "[\\]]"),
        ("regex", "[\\^]"), ("regex", "a{2}?"), ("regex", "(a)(b)"), ("regex", "a|b|"),
        ("regex", "\\t"), ("regex", "\\x4"), ("regex", "\\u0041"), ("regex", "\\p{L}"),
        ("regex", "[\\d-z]"), ("regex", "[z-a]"), ("regex", "(?#c)"), ("regex", "^\\s*$"),
        ("regex", "é+"), ("regex", "[é]"), ("regex", ".*@.*"), ("regex", "\\W"),
        ("regex", "[\\w.]+"), ("regex", "a{1,2}{3}"), ("regex", "(a|)+"), ("regex", "a*?b"),
        ("regex", "x*$"), ("regex", "\\S+\\s\\S+"), ("regex", "[-a]"), ("regex", "[a-]"),
        ("regex", "[]"), ("regex", "[^]a]"), ("regex", "a{0}"), ("regex", "(?:)"),
        ("regex", "\\{"), ("regex", "a{"), ("regex", "a{1"), ("regex", "\\$"), ("regex", "$^"),
        ("gt", 5), ("gt", "5"), ("gte", 10), ("lt", "10.5"), ("lte", -3), ("gt", "forty"),
        ("lt", True), ("gt", 1e19), ("gt", " 5"), ("lt", "1e3"),
        ("is_date_before", "2024-01-15"), ("is_date_after", "2024-01-15T10:30:00Z"),
        ("is_date_before", "2024-01-15T12:00:00+02:00"), ("is_date_after", "not a date"),
        ("is_date_before", "2025"), ("is_date_after", "-99999d"), ("is_date_before", 20240115),
        ("is_date_after", "2024-01-15 10:30:00 +01:00"),
        # Relative dates resolve against the clock; every date above is years old, so
        # these answers do not depend on the day the vectors are generated.
        ("is_date_before", "-30d"), ("is_date_after", "-12w"), ("is_date_before", "-6m"),
        ("is_date_after", "-2y"), ("is_date_before", "-48h"), ("is_date_after", "10000d"),
        ("is_date_before", "5x"), ("is_date_before", "1y"),
        ("semver_eq", "1.2.3"), ("semver_neq", "1.2.3"), ("semver_gt", "1.2"),
        ("semver_gte", "v1.2.3"), ("semver_lt", "2.0.0"), ("semver_lte", "1.2.3-rc.1"),
        ("semver_tilde", "1.2.0"), ("semver_caret", "0.2.3"), ("semver_caret", "0.0.3"),
        ("semver_caret", "1.2.3"), ("semver_wildcard", "1.*"), ("semver_wildcard", "1.2.*"),
        ("semver_wildcard", "*"), ("semver_eq", "01.2.3"), ("semver_gt", "abc"),
        ("semver_eq", 3), ("semver_lt", 1.5),
        ("no_such_operator", "x"), (None, "abc"), ("", "ABC"),
    ]
    flags = []
    for i, (op, value) in enumerate(specs):
        p = {"key": "p", "value": value, "type": "person"}
        if op is not None:
            p["operator"] = op
        flags.append(flag(f"op-{i:03d}-{op}", [cond([p])]))
    # A filter whose key is not a string, and a filter with no key.
    flags.append(flag("op-key-null", [cond([{"key": None, "operator": "exact", "value": "x"}])]))
    flags.append(flag("op-key-number", [cond([{"key": 5, "operator": "is_set", "value": "x"}])]))
    # distinct_id is a person property the SDK adds.
    flags.append(flag("op-distinct-id", [cond([prop("distinct_id", "exact", ["u-abc", "u-10"])])]))
    flags.append(flag("op-distinct-id-regex", [cond([prop("distinct_id", "regex", "^u-\\d")])]))
    return flags


def operators_file():
    users = {f"u-{i}": {"person_properties": {"p": v}} for i, v in enumerate(VALUES)}
    users["u-missing"] = {"person_properties": {"other": 1}}
    users["u-abc"] = {"person_properties": {"p": "abc", "distinct_id": "overridden"}}
    users["u-10"] = {"person_properties": {"p": 10}}
    defs = {"flags": operator_flags(), "group_type_mapping": {}, "cohorts": {}}
    write("operators", defs, users)
    # property_matching_version 2 changes `exact`/`is_not` only.
    exact_flags = [f for f in defs["flags"]
                   if f["filters"]["groups"][0]["properties"][0].get("operator") in ("exact", "is_not", None, "")]
    defs2 = {"flags": exact_flags, "group_type_mapping": {}, "cohorts": {}, "property_matching_version": 2}
    write("operators-pmv2", defs2, users)


# -------------------------------------------------------------------- conditions & variants
def conditions_file():
    variants3 = [{"key": "control", "rollout_percentage": 34}, {"key": "test", "rollout_percentage": 33},
                 {"key": "test-2", "rollout_percentage": 33}]
    flags = [
        flag("mv-basic", [cond(rollout=100)], multivariate=variants3,
             payloads={"control": "{\"a\": 1}", "test": "[1, 2.5, \"x\"]", "test-2": "not json",
                       "true": "\"unused\""}),
        flag("mv-underfull", [cond(rollout=100)],
             multivariate=[{"key": "a", "rollout_percentage": 20}, {"key": "b", "rollout_percentage": 20}],
             payloads={"true": "{\"fallthrough\": true}"}),
        flag("mv-override", [cond([prop("plan", "exact", ["pro"])], rollout=100, variant="test"),
                             cond(rollout=50)], multivariate=variants3),
        flag("mv-override-invalid", [cond([prop("plan", "is_set", "is_set")], rollout=100,
                                          variant="nope")], multivariate=variants3),
        flag("mv-override-second", [cond([prop("plan", "exact", ["free"])], rollout=0),
                                    cond([prop("plan", "exact", ["free"])], variant="test-2")],
             multivariate=variants3),
        flag("mv-empty-key", [cond()], multivariate=[{"key": "", "rollout_percentage": 100}]),
        flag("mv-missing-pct", [cond()], multivariate=[{"key": "a"}]),
        flag("mv-missing-key", [cond()], multivariate=[{"rollout_percentage": 100}]),
        flag("mv-string-pct", [cond()], multivariate=[{"key": "a", "rollout_percentage": "100"}]),
        flag("mv-bool-pct", [cond()], multivariate=[{"key": "a", "rollout_percentage": True},
                                                   {"key": "b", "rollout_percentage": 99}]),
        flag("mv-null-multivariate", [cond()], filters_extra={"multivariate": None}),
        flag("bool-payloads", [cond([prop("plan", "exact", ["pro"])])],
             payloads={"true": "{\"on\": true}", "false": "{\"on\": false}"}),
        flag("payload-non-string", [cond()], payloads={"true": {"raw": [1, 2]}}),
        flag("payload-null", [cond()], payloads={"true": "null"}),
        flag("payload-nan", [cond()], payloads={"true": "NaN"}),
        flag("rollout-fraction", [cond(rollout=33.3)]),
        flag("rollout-zero", [cond(rollout=0)]),
        flag("rollout-null-props", [cond([prop("plan", "is_set", "is_set")], rollout=None)]),
        flag("rollout-null-noprops", [cond(rollout=None)]),
        flag("rollout-string", [cond(rollout="50")]),
        flag("rollout-bool", [cond(rollout=True)]),
        flag("rollout-over", [cond(rollout=150)]),
        flag("rollout-negative", [cond(rollout=-5)]),
        flag("no-conditions", []),
        flag("conditions-null", None),
        flag("inactive", [cond()], active=False, payloads={"false": "{\"off\": 1}"}),
        flag("active-missing", [cond()], active=None),
        flag("active-string", [cond()], active="yes"),
        flag("continuity", [cond()], ensure_experience_continuity=True),
        flag("continuity-inactive", [cond()], active=False, ensure_experience_continuity=True),
        flag("early-exit", [cond([prop("plan", "is_set", "is_set")], rollout=0),
                            cond(rollout=100)], filters_extra={"early_exit": True}),
        flag("early-exit-inconclusive-first", [cond([prop("missing", "exact", "x")]),
                                               cond([prop("plan", "is_set", "is_set")], rollout=0),
                                               cond()], filters_extra={"early_exit": True}),
        flag("no-early-exit", [cond([prop("plan", "is_set", "is_set")], rollout=0), cond(rollout=100)]),
        flag("inconclusive-then-match", [cond([prop("missing", "exact", "x")]), cond()]),
        flag("inconclusive-then-nomatch", [cond([prop("missing", "exact", "x")]),
                                           cond([prop("plan", "exact", "nobody")])]),
        flag("false-beats-inconclusive", [cond([prop("missing", "exact", "x"),
                                                prop("plan", "exact", "nobody")])]),
        flag("reason-precedence", [cond([prop("missing", "exact", "x")]),
                                   cond([prop("plan", "bogus_op", "x")])]),
        flag("malformed-condition", ["not a dict"]),
        flag("malformed-properties", [{"properties": {"a": 1}, "rollout_percentage": 100}]),
        flag("malformed-filter", [cond(["not a filter"])]),
        flag("malformed-filter-after-inconclusive", [cond([prop("missing", "exact", "x"), 7])]),
        flag("filters-not-object", None, filters_extra={}),
        flag("device-bucketing", [cond()], bucketing_identifier="device_id"),
        flag("device-bucketing-filters", [cond()], filters_extra={"bucketing_identifier": "device_id"}),
        flag("enrollment", [cond(rollout=0)], filters_extra={"feature_enrollment": True}),
        flag("enrollment-false-flag", [cond(rollout=0)], filters_extra={"feature_enrollment": "yes"}),
        flag("deleted-but-active", [cond()], deleted=True),
    ]
    for f in flags:
        if f["key"] == "filters-not-object":
            f["filters"] = "oops"
    users = {
        "alice": {"person_properties": {"plan": "pro", "$feature_enrollment/enrollment": True}},
        "bob": {"person_properties": {"plan": "free", "$feature_enrollment/enrollment": "true"}},
        "carol": {"person_properties": {"plan": "team", "$feature_enrollment/enrollment": "True"}},
        "dave": {"person_properties": {}},
    }
    for i in range(40):
        users[f"user_{i}"] = {"person_properties": {"plan": ["pro", "free", "team"][i % 3]}}
    write("conditions", {"flags": flags, "group_type_mapping": {}, "cohorts": {}}, users)


# ---------------------------------------------------------------------------------- groups
def groups_file():
    mapping = {"0": "organization", "1": "project", "2": ""}
    flags = [
        flag("g-org-plan", [cond([prop("plan", "exact", ["pro"], "group", group_type_index=0)])], agg=0,
             payloads={"true": "{\"org\": true}"}),
        flag("g-org-rollout", [cond(rollout=50)], agg=0),
        flag("g-org-variants", [cond()], agg=0,
             multivariate=[{"key": "x", "rollout_percentage": 50}, {"key": "y", "rollout_percentage": 50}]),
        flag("g-org-group-key", [cond([prop("$group_key", "exact", ["org_1", "7"], "group")])], agg=0),
        flag("g-project", [cond([prop("env", "exact", ["prod"], "group", group_type_index=1)])], agg=1),
        flag("g-unknown-index", [cond()], agg=5),
        flag("g-empty-name", [cond()], agg=2),
        flag("g-string-index", [cond()], agg="0"),
        flag("g-missing-prop", [cond([prop("missing", "exact", "x", "group")])], agg=0),
        flag("g-mixed", [cond([prop("plan", "exact", ["pro"], "group")], aggregation_group_type_index=0),
                         cond([prop("email", "icontains", "@acme")], aggregation_group_type_index=None)]),
        flag("g-mixed-unknown", [cond(aggregation_group_type_index=9), cond(rollout=0)]),
        flag("g-mixed-project", [cond(rollout=50, aggregation_group_type_index=1)]),
        flag("g-person-filter-on-group-flag", [cond([prop("email", "is_set", "is_set")])], agg=0),
    ]
    users = {
        "p1": {"person_properties": {"email": "a@acme.io"}, "groups": {"organization": "org_1"},
               "group_properties": {"organization": {"plan": "pro"}}},
        "p2": {"person_properties": {"email": "b@x.io"}, "groups": {"organization": "org_2"},
               "group_properties": {"organization": {"plan": "free"}}},
        "p3": {"person_properties": {"email": "c@acme.io"}, "groups": {"organization": "org_3"}},
        "p4": {"person_properties": {"email": "d@acme.io"}},
        "p5": {"person_properties": {}, "groups": {"organization": 7, "project": "proj_1"},
               "group_properties": {"organization": {"plan": "pro"}, "project": {"env": "prod"}}},
        "p6": {"person_properties": {}, "groups": {"project": "proj_2"},
               "group_properties": {"organization": {"plan": "pro"}, "project": {"env": "dev"}}},
        "p7": {"person_properties": {}, "groups": {"organization": "org_9"},
               "group_properties": {"organization": {"$group_key": "override", "plan": "PRO"}}},
    }
    for i in range(30):
        users[f"m{i}"] = {"person_properties": {"email": f"u{i}@acme.io"},
                          "groups": {"organization": f"org_{i}", "project": f"proj_{i}"},
                          "group_properties": {"organization": {"plan": "pro"}, "project": {"env": "prod"}}}
    write("groups", {"flags": flags, "group_type_mapping": mapping, "cohorts": {}}, users)


# -------------------------------------------------------------------------------- holdouts
def holdouts_file():
    v2 = [{"key": "control", "rollout_percentage": 50}, {"key": "test", "rollout_percentage": 50}]
    flags = [
        flag("h-50", [cond()], multivariate=v2, filters_extra={"holdout": {"id": 7, "exclusion_percentage": 50}},
             payloads={"holdout-7": "{\"held\": true}", "control": "1"}),
        flag("h-0", [cond()], filters_extra={"holdout": {"id": 8, "exclusion_percentage": 0}}),
        flag("h-100", [cond(rollout=0)], filters_extra={"holdout": {"id": 9, "exclusion_percentage": 100}}),
        flag("h-150", [cond()], filters_extra={"holdout": {"id": 10, "exclusion_percentage": 150}}),
        flag("h-negative", [cond()], filters_extra={"holdout": {"id": 11, "exclusion_percentage": -5}}),
        flag("h-string-pct", [cond()], filters_extra={"holdout": {"id": 12, "exclusion_percentage": "30"}}),
        flag("h-bad-pct", [cond()], filters_extra={"holdout": {"id": 13, "exclusion_percentage": "lots"}}),
        flag("h-no-id", [cond()], filters_extra={"holdout": {"exclusion_percentage": 50}}),
        flag("h-string-id", [cond()], filters_extra={"holdout": {"id": "abc", "exclusion_percentage": 50}}),
        flag("h-empty", [cond()], filters_extra={"holdout": {}}),
        flag("h-list", [cond()], filters_extra={"holdout": [1]}),
        flag("h-group", [cond()], agg=0, filters_extra={"holdout": {"id": 14, "exclusion_percentage": 50}}),
        flag("h-inactive", [cond()], active=False, filters_extra={"holdout": {"id": 15, "exclusion_percentage": 100}}),
        flag("h-before-missing", [cond([prop("missing", "exact", "x")])],
             filters_extra={"holdout": {"id": 16, "exclusion_percentage": 40}}),
    ]
    users = {f"user-{i}": {"person_properties": {}, "groups": {"organization": f"o{i}"}} for i in range(60)}
    write("holdouts", {"flags": flags, "group_type_mapping": {"0": "organization"}, "cohorts": {}}, users)


# ---------------------------------------------------------------------------- dependencies
def dep(key, value, chain=None, operator="flag_evaluates_to", **extra):
    p = {"key": key, "type": "flag", "value": value}
    if operator is not None:
        p["operator"] = operator
    if chain is not False:
        p["dependency_chain"] = chain if chain is not None else [key]
    p.update(extra)
    return p


def dependencies_file():
    v2 = [{"key": "control", "rollout_percentage": 50}, {"key": "test", "rollout_percentage": 50}]
    flags = [
        flag("base-on", [cond([prop("plan", "exact", ["pro", "team"])])]),
        flag("base-half", [cond(rollout=50)]),
        flag("base-mv", [cond()], multivariate=v2),
        flag("base-inactive", [cond()], active=False),
        flag("base-continuity", [cond()], ensure_experience_continuity=True),
        flag("base-missing-prop", [cond([prop("missing", "exact", "x")])]),
        flag("base-static-cohort", [cond([{"key": "id", "type": "cohort", "value": 999}])]),
        flag("base-group", [cond([prop("plan", "exact", ["pro"])])], agg=0),
        flag("base-device", [cond()], bucketing_identifier="device_id"),
        flag("d-true", [cond([dep("base-on", True)])]),
        flag("d-false", [cond([dep("base-on", False)])]),
        flag("d-half", [cond([dep("base-half", True)])], multivariate=v2),
        flag("d-variant", [cond([dep("base-mv", "test")])]),
        flag("d-variant-true", [cond([dep("base-mv", True)])]),
        flag("d-variant-false", [cond([dep("base-mv", False)])]),
        flag("d-inactive", [cond([dep("base-inactive", False)])]),
        flag("d-inactive-true", [cond([dep("base-inactive", True)])]),
        flag("d-continuity", [cond([dep("base-continuity", True)])]),
        flag("d-missing-prop", [cond([dep("base-missing-prop", True)])]),
        flag("d-missing-prop-then", [cond([dep("base-missing-prop", True)]), cond(rollout=100)]),
        flag("d-static-cohort", [cond([dep("base-static-cohort", True)])]),
        flag("d-static-then", [cond([dep("base-static-cohort", True)]), cond()]),
        flag("d-group", [cond([dep("base-group", True)])]),
        flag("d-device", [cond([dep("base-device", True)])]),
        flag("d-chain", [cond([dep("d-true", True, chain=["base-on", "d-true"])])]),
        flag("d-chain-3", [cond([dep("d-chain", True, chain=["base-on", "d-true", "d-chain"])])]),
        flag("d-no-such-flag", [cond([dep("nope", True)])]),
        flag("d-missing-in-chain", [cond([dep("base-on", True, chain=["nope", "base-on"])])]),
        flag("d-missing-twice", [cond([dep("base-on", True, chain=["nope", "base-on"])]),
                                 cond([dep("base-on", True, chain=["nope", "base-on"])])]),
        flag("d-empty-chain", [cond([dep("base-on", True, chain=[])])]),
        flag("d-no-chain", [cond([dep("base-on", True, chain=False)])]),
        flag("d-chain-not-list", [cond([dep("base-on", True, chain="base-on")])]),
        flag("d-no-operator", [cond([dep("base-on", True, operator=None)])]),
        flag("d-wrong-operator", [cond([dep("base-on", True, operator="exact")])]),
        flag("d-null-value", [cond([dep("base-on", None)])]),
        flag("d-string-true", [cond([dep("base-on", "true")])]),
        flag("d-target-not-in-chain", [cond([dep("base-on", True, chain=["base-half"])])]),
        flag("d-mixed", [cond([dep("base-on", True), prop("plan", "exact", ["pro"])]),
                         cond([dep("base-mv", "control")], variant="test")], multivariate=v2),
        flag("d-in-group-flag", [cond([dep("base-on", True)])], agg=0),
        flag("d-self", [cond([dep("d-self", True)])]),
    ]
    users = {
        "alice": {"person_properties": {"plan": "pro"}, "groups": {"organization": "o1"},
                  "group_properties": {"organization": {"plan": "pro"}}},
        "bob": {"person_properties": {"plan": "free"}, "groups": {"organization": "o2"},
                "group_properties": {"organization": {"plan": "free"}}},
        "carol": {"person_properties": {"plan": "team"}},
        "dave": {"person_properties": {}},
    }
    for i in range(30):
        users[f"user_{i}"] = {"person_properties": {"plan": ["pro", "free", "team"][i % 3]},
                              "groups": {"organization": f"org_{i}"},
                              "group_properties": {"organization": {"plan": "pro"}}}
    write("dependencies", {"flags": flags, "group_type_mapping": {"0": "organization"}, "cohorts": {}}, users)


# --------------------------------------------------------------------------------- cohorts
def cohorts_file():
    cohorts = {
        "1": {"type": "OR", "values": [{"type": "AND", "values": [prop("plan", "exact", ["pro"])]}]},
        "2": {"type": "AND", "values": [prop("age", "gt", 30), prop("plan", "exact", ["free"], negation=True)]},
        "3": {"type": "OR", "values": [{"type": "AND", "values": [{"key": "id", "type": "cohort", "value": 1}]},
                                       {"type": "AND", "values": [prop("age", "lt", 20)]}]},
        "4": {"type": "AND", "values": [{"key": "id", "type": "cohort", "value": 2, "negation": True}]},
        "5": {},
        "6": {"type": "XOR", "values": []},
        "7": {"type": "OR", "values": "nope"},
        "8": {"type": "OR", "values": [5]},
        "9": {"type": "AND", "values": [prop("missing", "exact", "x"), prop("plan", "exact", ["nobody"])]},
        "10": {"type": "OR", "values": [prop("missing", "exact", "x"), prop("plan", "exact", ["pro"])]},
        "11": {"type": "OR", "values": [{"key": "id", "type": "cohort", "value": 404}, prop("plan", "is_set", "is_set")]},
        "12": {"type": "AND", "values": [dep("base", True)]},
        "13": {"type": "OR", "values": []},
        "14": {"type": "AND", "values": [{}, {"type": "OR", "values": [prop("plan", "exact", "team")]}]},
        "15": {"type": "AND", "values": [{"key": "id", "type": "cohort", "value": 16}]},
        "16": {"type": "AND", "values": [{"key": "id", "type": "cohort", "value": 15}]},
        "17": {"type": "OR", "values": [prop("plan", "bogus", "x"), prop("age", "gt", 30)]},
    }
    def cf(cid, **extra):
        c = {"key": "id", "type": "cohort", "value": cid}
        c.update(extra)
        return c
    flags = [flag("base", [cond([prop("plan", "exact", ["pro", "team"])])])]
    for cid in list(cohorts) + ["404"]:
        flags.append(flag(f"c-{cid}", [cond([cf(int(cid))])]))
    flags += [
        flag("c-1-negated", [cond([cf(1, negation=True)])]),
        flag("c-1-not-in", [cond([cf(1, operator="not_in")])]),
        flag("c-1-in", [cond([cf(1, operator="in")])]),
        flag("c-1-bad-op", [cond([cf(1, operator="gt")])]),
        flag("c-string-id", [cond([cf("1")])]),
        flag("c-static-then-other", [cond([cf(404)]), cond()]),
        flag("c-inconclusive-then-static", [cond([prop("missing", "exact", "x"), cf(404)]), cond()]),
        flag("c-static-then-false", [cond([cf(404), prop("plan", "exact", ["nobody"])]), cond()]),
        flag("c-with-rollout", [cond([cf(1)], rollout=50)],
             multivariate=[{"key": "a", "rollout_percentage": 50}, {"key": "b", "rollout_percentage": 50}]),
    ]
    users = {
        "alice": {"person_properties": {"plan": "pro", "age": 40}},
        "bob": {"person_properties": {"plan": "free", "age": 35}},
        "carol": {"person_properties": {"plan": "team", "age": 18}},
        "dave": {"person_properties": {"age": "45"}},
        "erin": {"person_properties": {"plan": "pro"}},
        "frank": {"person_properties": {}},
    }
    for i in range(12):
        users[f"user_{i}"] = {"person_properties": {"plan": ["pro", "free", "team"][i % 3], "age": 15 + 5 * i}}
    write("cohorts", {"flags": flags, "group_type_mapping": {}, "cohorts": cohorts}, users)


# ------------------------------------------------------------------- inline cases, not found
def inline_file():
    flags = [flag("email-flag", [cond([prop("email", "icontains", "@acme")])]),
             flag("org-flag", [cond([prop("plan", "exact", "pro", "group")])], agg=0)]
    users = {"u1": {"person_properties": {"email": "x@acme.io"}, "groups": {"organization": "o1"},
                    "group_properties": {"organization": {"plan": "pro"}}}}
    cases = [
        {"flag": "email-flag", "distinct_id": "u1"},
        {"flag": "email-flag", "distinct_id": "u1", "person_properties": {"email": "x@other.io"}},
        {"flag": "email-flag", "distinct_id": "u1", "person_properties": None},
        {"flag": "email-flag", "distinct_id": "u2"},
        {"flag": "email-flag", "distinct_id": "u2", "person_properties": {"email": "Y@ACME.io"}},
        {"flag": "org-flag", "distinct_id": "u1"},
        {"flag": "org-flag", "distinct_id": "u1", "groups": {"organization": "o2"}},
        {"flag": "org-flag", "distinct_id": "u1", "group_properties": {"organization": {"plan": "free"}}},
        {"flag": "org-flag", "distinct_id": "u1", "groups": {}},
        {"flag": "no-such-flag", "distinct_id": "u1"},
        {"flag": "email-flag", "distinct_id": 12345, "person_properties": {"email": "a@acme.io"}},
    ]
    write("inline", {"flags": flags, "group_type_mapping": {"0": "organization"}, "cohorts": {}}, users, cases)


# ------------------------------------------------------------------- cycles, deep nesting
def cycles_file():
    deep = prop("plan", "is_set", "is_set")
    for _ in range(50):  # 100 JSON levels: within serde_json's default recursion limit
        deep = {"type": "AND", "values": [deep]}
    flags = [
        flag("cyc-a", [cond([dep("cyc-b", True)])]),
        flag("cyc-b", [cond([dep("cyc-a", True)])]),
        flag("cyc-a-then", [cond([prop("missing", "exact", "x"), dep("cyc-b", True)]), cond()]),
        flag("cyc-cohort", [cond([{"key": "id", "type": "cohort", "value": 1}])]),
        flag("deep-cohort", [cond([{"key": "id", "type": "cohort", "value": 3}])]),
    ]
    cohorts = {"1": {"type": "OR", "values": [{"key": "id", "type": "cohort", "value": 2}]},
               "2": {"type": "OR", "values": [{"key": "id", "type": "cohort", "value": 1}]},
               "3": deep}
    users = {"u1": {"person_properties": {"plan": "pro"}}, "u2": {"person_properties": {}}}
    write("cycles", {"flags": flags, "group_type_mapping": {}, "cohorts": cohorts}, users)


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    operators_file()
    conditions_file()
    groups_file()
    holdouts_file()
    dependencies_file()
    cohorts_file()
    inline_file()
    cycles_file()

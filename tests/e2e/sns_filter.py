"""Amazon SNS subscription filter policies, evaluated as AWS documents them.

The oracle is the SNS developer guide, never an emulator: moto 5.2.x treats a message without
attributes as an empty attribute map and lets `{"exists": false}` match it, which AWS documents as
never matching. Every rule below carries the page it follows. Where the pages do not say what SNS
does (or contradict each other), this module raises `UndocumentedCase` or says which reading it
takes, instead of guessing quietly; an operator it does not know raises `UnknownOperator`.

    matches(policy, scope, message) -> bool

`policy` is the subscription's `FilterPolicy` (a dict, or the JSON string the API returns; empty or
None: no filter), `scope` its `FilterPolicyScope` (None: the default), and `message` the message as
SNS delivers it: a dict with `Message` (the body) and `MessageAttributes`
({name: {"Type": "String"|"String.Array"|"Number"|"Binary", "Value": ...}}), i.e. the `Sns` object of
a Lambda SNS event record or the JSON envelope SNS writes to SQS. A missing `MessageAttributes`
means the message has none.

Pages (all https://docs.aws.amazon.com/sns/latest/dg/...):
  FILTERING   message-filtering.html
  POLICIES    sns-subscription-filter-policies.html
  SCOPE       sns-message-filtering-scope.html
  CONSTRAINTS subscription-filter-policy-constraints.html
  STRINGS     string-value-matching.html
  NUMBERS     numeric-value-matching.html
  KEYS        attribute-key-matching.html
  ANDOR       and-or-logic.html
  EXAMPLES    example-filter-policies.html
"""

from __future__ import annotations

import ipaddress
import json
import re
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

DG = "https://docs.aws.amazon.com/sns/latest/dg/"
FILTERING = DG + "message-filtering.html"
POLICIES = DG + "sns-subscription-filter-policies.html"
SCOPE = DG + "sns-message-filtering-scope.html"
CONSTRAINTS = DG + "subscription-filter-policy-constraints.html"
STRINGS = DG + "string-value-matching.html"
NUMBERS = DG + "numeric-value-matching.html"
KEYS = DG + "attribute-key-matching.html"
ANDOR = DG + "and-or-logic.html"
EXAMPLES = DG + "example-filter-policies.html"

MESSAGE_ATTRIBUTES = "MessageAttributes"
MESSAGE_BODY = "MessageBody"

# The operator keywords (STRINGS, NUMBERS, KEYS). They are also the "reserved keywords" that stop
# an "$or" from being read as OR (ANDOR).
OPERATORS = frozenset({"exists", "prefix", "suffix", "equals-ignore-case", "anything-but", "numeric",
                       "cidr", "wildcard"})
NUMERIC_OPS = ("=", "<", "<=", ">", ">=")
MAX_KEYS = 5            # CONSTRAINTS: "A filter policy can have a maximum of five keys."
MAX_COMBINATIONS = 150  # CONSTRAINTS: "The total combination of values ... must not exceed 150."
NUMERIC_LIMIT = Decimal(10) ** 9  # CONSTRAINTS: "-10^9 to 10^9 ... five digits of accuracy"
FIVE_DIGITS = Decimal("0.00001")


class FilterPolicyError(ValueError):
    """The policy is one SNS would refuse (CONSTRAINTS) or is malformed."""


class UnknownOperator(FilterPolicyError):
    """An operator keyword the documentation does not define: never silently matched."""


class UndocumentedCase(NotImplementedError):
    """The documentation does not say what SNS does here; the harness refuses to guess."""


_MISSING = object()


# ---- entry points --------------------------------------------------------------------------------

def matches(policy, scope: str | None, message: dict) -> bool:
    """Would SNS deliver `message` to a subscription with this FilterPolicy and FilterPolicyScope?"""
    policy = parse_policy(policy)
    scope = normalise_scope(scope)
    if not policy:
        # FILTERING: "If a subscription doesn't have a filter policy, the subscriber receives every
        # message published to its topic." ("{}" is how a policy is removed.)
        return True
    validate(policy, scope)
    if scope == MESSAGE_BODY:
        return _body_matches(policy, message.get("Message"))
    return _attributes_match(policy, message.get("MessageAttributes") or {})


def matches_attributes(policy, attributes: dict) -> bool:
    """A MessageAttributes-scoped policy against attributes as SNS delivers them."""
    return matches(policy, MESSAGE_ATTRIBUTES, {"Message": "", "MessageAttributes": attributes})


def matches_body(policy, body: str) -> bool:
    """A MessageBody-scoped policy against the message body (the `Message` string)."""
    return matches(policy, MESSAGE_BODY, {"Message": body, "MessageAttributes": {}})


def parse_policy(policy) -> dict:
    if policy is None or policy == "":
        return {}
    if isinstance(policy, (str, bytes)):
        try:
            policy = json.loads(policy)
        except json.JSONDecodeError as e:
            raise FilterPolicyError(f"filter policy is not JSON: {e}") from e
    if not isinstance(policy, dict):
        # FILTERING: "A filter policy is a JSON object containing properties ..."
        raise FilterPolicyError(f"a filter policy is a JSON object, not {type(policy).__name__} ({FILTERING})")
    return policy


def normalise_scope(scope: str | None) -> str:
    # SCOPE: "If no filter policy scope is defined for an existing filter policy, the scope
    # defaults to MessageAttributes."
    if scope in (None, ""):
        return MESSAGE_ATTRIBUTES
    if scope not in (MESSAGE_ATTRIBUTES, MESSAGE_BODY):
        raise FilterPolicyError(f"FilterPolicyScope is MessageAttributes or MessageBody, not {scope!r} ({SCOPE})")
    return scope


# ---- policy checks (what SNS refuses when the policy is set) --------------------------------------

def _is_or(key: str, value) -> bool:
    """ANDOR: "$or" is an OR only when it is followed by an array of at least 2 objects none of
    which has a reserved keyword as a field name; otherwise it is a regular attribute name."""
    return (key == "$or" and isinstance(value, list) and len(value) >= 2
            and all(isinstance(o, dict) for o in value)
            and not any(k in OPERATORS for o in value for k in o))


def validate(policy: dict, scope: str) -> None:
    alternatives = _alternatives(policy, scope, depth=1)
    for leaves in alternatives:
        # CONSTRAINTS: at most five keys; "For a nested policy, only leaf keys are counted towards
        # the five key limit." With "$or", counted per alternative (the page does not say more).
        if len(leaves) > MAX_KEYS:
            raise FilterPolicyError(f"{len(leaves)} keys in one alternative (max {MAX_KEYS}; {CONSTRAINTS})")
    # CONSTRAINTS: the total combination is the product of the number of match operators of each
    # key, times each leaf key's nesting level for payload policies; ANDOR: "the sum of the
    # combination complexities for each OR statement".
    total = 0
    for leaves in alternatives:
        product = 1
        for n_values, depth in leaves:
            product *= n_values * depth
        total += product
    if total > MAX_COMBINATIONS:
        raise FilterPolicyError(f"total combination {total} > {MAX_COMBINATIONS} ({CONSTRAINTS}, {ANDOR})")


def _alternatives(obj: dict, scope: str, depth: int) -> list[list[tuple[int, int]]]:
    """The policy as OR-of-ANDs: each alternative lists (match operators, nesting level) per leaf."""
    if not isinstance(obj, dict) or not obj:
        raise FilterPolicyError(f"each policy level is a non-empty JSON object, not {obj!r}")
    result: list[list[tuple[int, int]]] = [[]]
    for key, value in obj.items():
        if _is_or(key, value):
            options = [alt for branch in value for alt in _alternatives(branch, scope, depth)]
        elif isinstance(value, dict):
            if scope == MESSAGE_ATTRIBUTES:
                # CONSTRAINTS: "Amazon SNS doesn't accept a nested filter policy for attribute-based
                # filtering." / "Amazon SNS accepts a nested filter policy for payload-based filtering."
                raise FilterPolicyError(f"{key!r}: nested policies are for MessageBody scope only ({CONSTRAINTS})")
            options = _alternatives(value, scope, depth + 1)
        elif isinstance(value, list):
            if not value:
                raise FilterPolicyError(f"{key!r}: an empty list of values matches nothing and SNS refuses it")
            for rule in value:
                _check_rule(key, rule)
            options = [[(len(value), depth)]]
        else:
            # POLICIES: "A subscription filter policy allows you to specify property names and
            # assign a list of values to each property name."
            raise FilterPolicyError(f"{key!r}: a property's values are a JSON list, not {value!r} ({POLICIES})")
        result = [a + b for a in result for b in options]
    return result


def _check_rule(key: str, rule) -> None:
    if _is_literal(rule):
        if _is_number(rule):
            _policy_number(rule)
        return
    if not isinstance(rule, dict) or len(rule) != 1:
        raise FilterPolicyError(f"{key!r}: a rule is a literal or an object with one operator, not {rule!r}")
    (op, arg), = rule.items()
    if op not in OPERATORS:
        raise UnknownOperator(f"{key!r}: unknown filter operator {op!r}")
    if op == "exists":
        if not isinstance(arg, bool):
            raise FilterPolicyError(f"{key!r}: exists takes true or false ({KEYS})")
    elif op in ("prefix", "suffix", "equals-ignore-case", "wildcard"):
        if not isinstance(arg, str):
            # NUMBERS: "Prefixes are supported for string matching only."
            raise FilterPolicyError(f"{key!r}: {op} takes a string ({STRINGS})")
        if op == "wildcard":
            _check_wildcard(key, arg)
    elif op == "cidr":
        try:
            ipaddress.ip_network(arg, strict=False)
        except (TypeError, ValueError) as e:
            raise FilterPolicyError(f"{key!r}: cidr {arg!r} is not a network ({STRINGS})") from e
    elif op == "numeric":
        _numeric_conditions(key, arg)
    elif op == "anything-but":
        _anything_but(key, arg)


def _check_wildcard(key: str, pattern: str) -> None:
    if "\\" in pattern:
        raise UndocumentedCase(f"{key!r}: escapes in a wildcard pattern are not documented for SNS ({STRINGS})")
    if pattern.count("*") > 3:
        # CONSTRAINTS (wildcard guidelines): "Maximum 3 wildcards per pattern"
        raise FilterPolicyError(f"{key!r}: more than 3 wildcards in {pattern!r} ({CONSTRAINTS})")


def _numeric_conditions(key: str, arg) -> list[tuple[str, Decimal]]:
    """NUMBERS: ["=", 301.5], ["<", 0], [">", 0, "<=", 150] (a range: a lower and an upper bound)."""
    if not isinstance(arg, list) or len(arg) not in (2, 4):
        raise FilterPolicyError(f"{key!r}: numeric takes [op, n] or [op, n, op, n], not {arg!r} ({NUMBERS})")
    conds = []
    for op, n in zip(arg[::2], arg[1::2]):
        if op not in NUMERIC_OPS or not _is_number(n):
            raise FilterPolicyError(f"{key!r}: numeric condition {op!r} {n!r} ({NUMBERS})")
        conds.append((op, _policy_number(n)))
    if len(conds) == 2:
        lower, upper = conds
        if lower[0] not in (">", ">=") or upper[0] not in ("<", "<="):
            raise UndocumentedCase(f"{key!r}: a numeric range is documented as a lower then an upper bound "
                                   f"([\">\", 0, \"<=\", 150]), not {arg!r} ({NUMBERS})")
    return conds


def _anything_but(key: str, arg):
    """STRINGS / NUMBERS / EXAMPLES: anything-but takes a value, a list of values, or one of
    {"prefix": s}, {"suffix": s}, {"wildcard": s}."""
    if _is_literal(arg) and arg is not None and not isinstance(arg, bool):
        return [arg]
    if isinstance(arg, list) and arg and all(_is_literal(v) and v is not None and not isinstance(v, bool)
                                             for v in arg):
        for v in arg:
            if _is_number(v):
                _policy_number(v)
        return arg
    if isinstance(arg, dict) and len(arg) == 1:
        (op, s), = arg.items()
        if op in ("prefix", "suffix", "wildcard") and isinstance(s, str):
            if op == "wildcard":
                _check_wildcard(key, s)
            return arg
        if op in OPERATORS:
            raise UndocumentedCase(f"{key!r}: anything-but with {op!r} is not documented for SNS ({STRINGS})")
        raise UnknownOperator(f"{key!r}: unknown operator {op!r} inside anything-but")
    raise FilterPolicyError(f"{key!r}: anything-but takes a string, a number, a list of them, or "
                            f"{{prefix|suffix|wildcard: s}}, not {arg!r} ({STRINGS})")


def _policy_number(n) -> Decimal:
    d = _decimal(n)
    if d is None or abs(d) > NUMERIC_LIMIT:
        # CONSTRAINTS: "the value can range from -10^9 to 10^9 (-1 billion to 1 billion)"
        raise FilterPolicyError(f"numeric value {n!r} outside -10^9..10^9 ({CONSTRAINTS})")
    return d


# ---- MessageAttributes scope ---------------------------------------------------------------------

def _attribute_values(name: str, attr) -> list:
    """The values an attribute offers to matching, or _MISSING when SNS does not look at it."""
    if not isinstance(attr, dict) or "Type" not in attr or "Value" not in attr:
        raise FilterPolicyError(f"attribute {name!r} is not {{\"Type\": ..., \"Value\": ...}} as SNS delivers it: {attr!r}")
    kind, value = attr["Type"], attr["Value"]
    if kind == "Binary":
        # CONSTRAINTS: "Amazon SNS ignores message attributes with the Binary data type."
        return _MISSING
    if kind == "String":
        return [value]
    if kind == "Number":
        # CONSTRAINTS: "Number is supported for numeric attribute values." (NUMBERS shows the Value
        # both as a string and as a bare number.)
        d = _decimal(value)
        if d is None:
            raise FilterPolicyError(f"attribute {name!r}: Number value {value!r} is not a number")
        return [d]
    if kind in ("String.Array", "Number.Array"):
        # STRINGS: "For String.Array type attributes, each element in the array is treated as a
        # separate string for matching purposes." NUMBERS shows a "Number.Array" attribute too.
        try:
            items = json.loads(value) if isinstance(value, str) else value
        except json.JSONDecodeError as e:
            raise FilterPolicyError(f"attribute {name!r}: {kind} value is not a JSON array: {value!r}") from e
        if not isinstance(items, list):
            raise FilterPolicyError(f"attribute {name!r}: {kind} value is not a JSON array: {value!r}")
        return [_json_value(v) for v in items]
    raise FilterPolicyError(f"attribute {name!r}: unknown data type {kind!r} "
                            "(SNS has String, String.Array, Number and Binary)")


def _attributes_match(policy: dict, attributes: dict) -> bool:
    looked_at = {}
    for name, attr in attributes.items():
        values = _attribute_values(name, attr)
        if values is not _MISSING:
            looked_at[name] = values
    # KEYS: "\"exists\": false only matches if at least one attribute is present. An empty set of
    # attributes results in the filter not matching." (Binary attributes are ignored by SNS, so a
    # message whose only attributes are Binary counts as having none.)
    any_attribute = bool(looked_at)

    def lookup(name):
        return looked_at.get(name, _MISSING)

    return _object_matches(policy, lookup, any_attribute, child=None)


# ---- MessageBody scope ---------------------------------------------------------------------------

def _body_matches(policy: dict, body) -> bool:
    # FILTERING: "Filter policies for the message body assume that the message payload is a
    # well-formed JSON object." A body that is not one (plain text, a JSON array or scalar) has no
    # properties to match: a MessageBody policy never matches it.
    if not isinstance(body, str):
        return False
    try:
        doc = json.loads(body, parse_float=Decimal, parse_int=Decimal)
    except json.JSONDecodeError:
        return False
    if not isinstance(doc, dict):
        return False
    return _body_object_matches(policy, doc)


def _body_object_matches(policy: dict, obj: dict) -> bool:
    def lookup(name):
        if name not in obj:
            return _MISSING
        value = obj[name]
        if isinstance(value, dict):
            # KEYS: exists "does not apply to intermediate nodes within a nested JSON structure";
            # no page says what a value rule does against an object either.
            raise UndocumentedCase(f"body property {name!r} is an object where the policy expects a leaf ({KEYS})")
        if isinstance(value, list):
            # STRINGS / NUMBERS: a body array matches when its elements do ({"price": [100, 50]}).
            if any(isinstance(v, (dict, list)) for v in value):
                raise UndocumentedCase(f"body property {name!r}: arrays of objects or arrays are not documented "
                                       f"for SNS payload filtering ({CONSTRAINTS})")
            return [_json_value(v) for v in value]
        return [_json_value(value)]

    def child(name):
        value = obj.get(name, _MISSING)
        if value is _MISSING:
            return _MISSING
        if isinstance(value, list) and any(isinstance(v, (dict, list)) for v in value):
            raise UndocumentedCase(f"body property {name!r}: nested policy over an array ({CONSTRAINTS})")
        return value

    if not obj and _uses_exists_false(policy):
        # KEYS documents the "at least one attribute" condition for attributes; what an empty body
        # object does under "exists": false is not documented.
        raise UndocumentedCase(f"\"exists\": false against an empty body object ({KEYS})")
    return _object_matches(policy, lookup, True, child)


def _uses_exists_false(policy: dict) -> bool:
    for value in policy.values():
        if isinstance(value, dict) and _uses_exists_false(value):
            return True
        if isinstance(value, list):
            for rule in value:
                if isinstance(rule, dict) and (rule.get("exists") is False
                                               or (not (rule.keys() & OPERATORS) and _uses_exists_false(rule))):
                    return True
    return False


# ---- keys, AND / OR ------------------------------------------------------------------------------

def _object_matches(policy: dict, lookup, any_attribute: bool, child) -> bool:
    """POLICIES: each property name in the policy must match (AND, ANDOR "AND logic"); for each,
    "at least one property value matches" (OR, ANDOR "OR logic"). Properties of the message that
    the policy does not name are ignored (POLICIES)."""
    for key, rules in policy.items():
        if _is_or(key, rules):
            # ANDOR "OR operator": {"source": [...], "$or": [A, B]} is source AND (A OR B).
            if not any(_object_matches(branch, lookup, any_attribute, child) for branch in rules):
                return False
            continue
        if isinstance(rules, dict):  # a nested body policy (validated: MessageBody scope only)
            sub = child(key)
            if sub is _MISSING:
                if not _absent_subtree_matches(rules):
                    return False
                continue
            if not isinstance(sub, dict):
                raise UndocumentedCase(f"body property {key!r} is {type(sub).__name__}, the policy nests into it")
            if not _body_object_matches(rules, sub):
                return False
            continue
        if not _key_matches(key, rules, lookup(key), any_attribute):
            return False
    return True


def _absent_subtree_matches(policy: dict) -> bool:
    """A nested policy whose parent object is absent: its leaves are absent. KEYS says exists works
    on leaf nodes; only "exists": false can match an absent leaf."""
    for key, rules in policy.items():
        if _is_or(key, rules):
            if not any(_absent_subtree_matches(b) for b in rules):
                return False
        elif isinstance(rules, dict):
            if not _absent_subtree_matches(rules):
                return False
        elif not any(isinstance(r, dict) and r.get("exists") is False for r in rules):
            return False
    return True


def _key_matches(key: str, rules: list, values, any_attribute: bool) -> bool:
    for rule in rules:
        if isinstance(rule, dict) and "exists" in rule:
            if rule["exists"]:
                # KEYS: "Use \"exists\": true to match incoming messages that include the specified
                # property. The key must have a non-null and non-empty value."
                if values is not _MISSING and any(v is not None and v != "" for v in values):
                    return True
            else:
                # KEYS: "Use \"exists\": false to match incoming messages that don't include the
                # specified property." ... "only matches if at least one attribute is present".
                if values is _MISSING:
                    if any_attribute:
                        return True
                elif all(v is None for v in values):
                    raise UndocumentedCase(f"{key!r} is present with a null value under \"exists\": false ({KEYS})")
            continue
        if values is _MISSING:
            # EXAMPLES: "because the encrypted property name isn't present in the message
            # attributes, this policy property causes the message to be rejected regardless of the
            # value assigned to it." Only exists:false matches an absent key; STRINGS: anything-but
            # "can be combined with \"exists\": false" for that.
            continue
        if _rule_matches(key, rule, values):
            return True
    return False


# ---- one rule against a property's values --------------------------------------------------------

def _rule_matches(key: str, rule, values: list) -> bool:
    if _is_literal(rule):
        # STRINGS "Exact matching": a policy value matches one or more of the values; CONSTRAINTS:
        # "For string matching in the filter policy, the comparison is case-sensitive."
        return any(_equal(rule, v) for v in values)
    (op, arg), = rule.items()
    strings = [v for v in values if isinstance(v, str)]
    if op == "prefix":
        # STRINGS "Prefix matching": values "that begin with the specified characters".
        return any(v.startswith(arg) for v in strings)
    if op == "suffix":
        # STRINGS "Suffix matching": values "that end with the specified characters".
        return any(v.endswith(arg) for v in strings)
    if op == "equals-ignore-case":
        # STRINGS "Equals-ignore-case matching": "a case-insensitive match".
        return any(v.casefold() == arg.casefold() for v in strings)
    if op == "wildcard":
        # STRINGS "Wildcard": "*" matches any characters ("*ball" matches baseball, basketball).
        return any(_wildcard(arg).fullmatch(v) for v in strings)
    if op == "cidr":
        # STRINGS "IP address matching": 10.0.0.0/24 matches 10.0.0.0 and 10.0.0.255, not 10.1.1.0.
        net = ipaddress.ip_network(arg, strict=False)
        return any(_in_network(v, net) for v in strings)
    if op == "numeric":
        # NUMBERS "Exact matching" / "Value range matching"; numbers compared to five decimal
        # digits (CONSTRAINTS: "five digits of accuracy after the decimal point").
        conds = _numeric_conditions(key, arg)
        return any(all(_compare(v, o, n) for o, n in conds) for v in values if isinstance(v, Decimal))
    if op == "anything-but":
        spec = _anything_but(key, arg)
        if isinstance(spec, dict):
            # STRINGS "Using a prefix with anything-but" / "anything-but suffix" / "anything-but
            # wildcard": string values that do not have the prefix (suffix, pattern).
            (sub, s), = spec.items()
            test = {"prefix": lambda v: v.startswith(s), "suffix": lambda v: v.endswith(s),
                    "wildcard": lambda v: bool(_wildcard(s).fullmatch(v))}[sub]
            return any(not test(v) for v in strings)
        # STRINGS / NUMBERS "Anything-but matching": values "that don't include any of the policy
        # property values". For arrays the pages' examples match when at least one element is not
        # listed (["rugby", "baseball"] matches anything-but ["rugby", "tennis"]; [100, 50] matches
        # anything-but [100, 500]); STRINGS' prose sentence "it matches if none of the array
        # elements are listed" contradicts those examples. The examples are followed here.
        return any(not any(_equal(x, v) for x in spec) for v in values)
    raise UnknownOperator(f"{key!r}: unknown filter operator {op!r}")  # unreachable after validate()


# ---- values --------------------------------------------------------------------------------------

def _is_number(v) -> bool:
    return isinstance(v, (int, float, Decimal)) and not isinstance(v, bool)


def _is_literal(v) -> bool:
    # CONSTRAINTS: the policy JSON "can contain ... Strings ..., Numbers, The keywords true, false,
    # and null".
    return v is None or isinstance(v, (str, bool)) or _is_number(v)


def _decimal(v) -> Decimal | None:
    if isinstance(v, bool):
        return None
    try:
        d = Decimal(str(v)) if not isinstance(v, Decimal) else v
    except (InvalidOperation, ValueError):
        return None
    return d if d.is_finite() else None


def _json_value(v):
    """A message value in comparable form: numbers as Decimal, everything else as is."""
    return _decimal(v) if _is_number(v) else v


def _equal(policy_value, message_value) -> bool:
    """Same JSON type and equal; numbers to five decimal digits."""
    if _is_number(policy_value):
        return isinstance(message_value, Decimal) and _five(_decimal(policy_value)) == _five(message_value)
    if isinstance(policy_value, bool) or policy_value is None:
        return message_value is policy_value
    return isinstance(message_value, str) and message_value == policy_value


def _five(d: Decimal) -> Decimal:
    return d.quantize(FIVE_DIGITS, rounding=ROUND_HALF_EVEN)


def _compare(v: Decimal, op: str, n: Decimal) -> bool:
    a, b = _five(v), _five(n)
    return {"=": a == b, "<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]


def _wildcard(pattern: str) -> re.Pattern:
    return re.compile(".*".join(re.escape(part) for part in pattern.split("*")), re.DOTALL)


def _in_network(value: str, net) -> bool:
    try:
        return ipaddress.ip_address(value) in net
    except ValueError:
        return False

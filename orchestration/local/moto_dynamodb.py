"""DynamoDB item calls answered in-process by moto's DynamoDB handler (used by `aws.EmbeddedAws`).

botocore sends every call as an HTTP request that moto intercepts: a signed request, a werkzeug
request, moto's dispatch, its response serializer and botocore's parser, about 1.5 ms of a 2 ms
`PutItem` (and about 1 ms per item a Query returns), plus a random invocation id that lets every
other thread take the GIL first (a fan-out's 500 branches queue behind each other). Here a
`before-call` hook answers the data-plane operations: botocore still validates and serializes the
request as it does on AWS; moto's own request parser reads it and moto's DynamoDB handler runs
it (the same code moto's dispatch calls, so conditions, errors and results are moto's); the result
goes back through botocore's parser, errors as botocore raises them (`ConditionalCheckFailedException`
& co.). Table management and anything else still goes through moto's HTTP path.

Also patches of moto (installed by `moto_adapter.Adapter`): moto parses a condition expression
twice per write, so the parse of a given expression, names and values is cached; and it sums the
size of the whole item again for each attribute it adds to a new item, so a new item's size is
checked once, against the same limit.
"""

from __future__ import annotations

import base64
import functools
import json
from collections.abc import Callable
from typing import Any

from botocore import xform_name
from botocore.awsrequest import AWSResponse

# The item operations the ledger uses (the others keep moto's HTTP path).
OPERATIONS = frozenset(
    {
        "PutItem",
        "GetItem",
        "UpdateItem",
        "DeleteItem",
        "Query",
        "Scan",
        "BatchWriteItem",
        "BatchGetItem",
        "TransactWriteItems",
    }
)
MAX_ITEM_SIZE = 405_000  # moto's limit on an item's size (AWS: 400 KB; it measured 409-410 KB)
CACHED_CONDITIONS = 4096  # distinct condition expressions (with their names and values) kept parsed
HOOK = "before-call.dynamodb"
HOOK_ID = "orch-local-dynamodb"


def answer_in_process(events: Any, account: str) -> None:
    """Answer the item operations of the clients created with this event emitter (a session's)
    in-process (see the module's docstring); `stop_answering` undoes it."""
    events.register(HOOK, _answer(account), unique_id=HOOK_ID)


def stop_answering(events: Any) -> None:
    events.unregister(HOOK, unique_id=HOOK_ID)


def _answer(account: str) -> Callable[..., tuple[AWSResponse, dict[str, Any]] | None]:
    from botocore.parsers import create_parser
    from moto.core.exceptions import JsonRESTError
    from moto.dynamodb.responses import DynamoHandler

    response_parser = create_parser("json")

    def answer(model: Any, params: dict[str, Any], context: dict[str, Any], **_: Any) -> Any:
        if model.name not in OPERATIONS:
            return None
        handler = DynamoHandler()
        handler.current_account, handler.region = account, context["client_region"]
        handler.body = _request(model, params["body"])
        try:
            result = getattr(handler, xform_name(model.name))()
            status, body = 200, json.dumps(result.result, default=_blob).encode()
        except JsonRESTError as exc:  # moto's error as its dispatch sends it (400, `__type`, message)
            status, body = exc.code, exc.get_body().encode()
        response = {"status_code": status, "headers": {}, "body": body}
        parsed = response_parser.parse(response, model.output_shape)
        shape = model.service_model.shape_for_error_code(parsed.get("Error", {}).get("Code"))
        if status >= 300 and shape is not None:  # its modeled fields (CancellationReasons), as botocore adds them
            parsed.update(response_parser.parse(response, shape))
        parsed.setdefault("ResponseMetadata", {})["HTTPStatusCode"] = status
        return AWSResponse(params["url"], status, {}, None), parsed

    return answer


def _request(model: Any, body: bytes) -> dict[str, Any]:
    """The request as moto's parser reads it. Without binary values (B, BS) that is the JSON body
    itself (botocore validated it against the same model); with them, moto's parser decodes them."""
    if b'"B"' not in body and b'"BS"' not in body:
        parsed: dict[str, Any] = json.loads(body)
        return parsed
    from moto.core.parse import PROTOCOL_PARSERS

    request: Any = {"method": "POST", "values": {}, "headers": {}, "body": body, "url_path": "/"}
    request["url_params"] = {}
    return dict(PROTOCOL_PARSERS["json"](model, map_type=dict).parse(request))


def _blob(value: Any) -> str:
    """A binary attribute value as moto's serializer writes it (base64)."""
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode()
    raise TypeError(f"moto returned a {type(value).__name__} where JSON was expected")


def cached_condition_parse(parse: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """ConditionExpressionParser.parse, cached per (expression, names, values): the tree it builds
    holds the values it was given and evaluates items without changing itself."""
    cache: dict[tuple[str, str, str], tuple[Any, list[str], list[str]]] = {}

    @functools.wraps(parse)
    def call(parser: Any) -> Any:
        names, values = parser.expression_attribute_names, parser.expression_attribute_values
        key = (parser.condition_expression or "", _key(names), _key(values))
        hit = cache.get(key)
        if hit is None:
            tree = parse(parser)  # a bad expression raises: nothing cached
            if len(cache) < CACHED_CONDITIONS:
                cache[key] = (tree, list(parser.expr_attr_names_found), list(parser.expr_attr_values_found))
            return tree
        parser.expr_attr_names_found.extend(hit[1])
        parser.expr_attr_values_found.extend(hit[2])
        return hit[0]

    return call


def _key(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=repr)


def sized_once() -> Callable[..., None]:
    """moto's `Item.__init__`, the item's size checked once when all its attributes are in (moto's
    check on each insert sums the attributes so far: the same outcome, in quadratic time)."""
    from moto.dynamodb.exceptions import ItemSizeTooLarge
    from moto.dynamodb.models.dynamo_type import DynamoType, LimitedSizeDict
    from moto.dynamodb.models.utilities import bytesize

    def init(item: Any, hash_key: Any, range_key: Any, attrs: dict[str, Any]) -> None:
        item.hash_key, item.range_key = hash_key, range_key
        item.attrs = LimitedSizeDict()
        for key, value in attrs.items():
            dict.__setitem__(item.attrs, key, DynamoType(value))
        if sum(bytesize(key) + value.size() for key, value in item.attrs.items()) > MAX_ITEM_SIZE:
            raise ItemSizeTooLarge()

    return init

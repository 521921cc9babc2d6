"""IAM under moto's enforcement: what it checks, and that a function's local user gets exactly its role.

One private moto server (about 2 s). The measured points in iam_map's docstring are asserted here,
so a moto upgrade that changes them fails this test instead of silently loosening the e2e.
"""

import io
import json
import zipfile

import pytest
from botocore.exceptions import ClientError

from . import iam_map, local_iam
from .moto_server import MotoServer

ACCOUNT = "123456789012"
TABLE_ARN = f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/t"
ROLE_POLICY = {  # shaped like the module's function policies: ARNs, one condition
    "Version": "2012-10-17",
    "Statement": [
        {"Sid": "Table", "Effect": "Allow", "Action": ["dynamodb:PutItem", "dynamodb:BatchGetItem"],
         "Resource": [TABLE_ARN, f"{TABLE_ARN}/index/*"]},
        {"Sid": "Logs", "Effect": "Allow", "Action": ["s3:GetObject", "s3:GetObjectVersion"],
         "Resource": "arn:aws:s3:::bkt-logs/logs/*"},
        {"Sid": "Metrics", "Effect": "Allow", "Action": "cloudwatch:PutMetricData", "Resource": "*",
         "Condition": {"StringEquals": {"cloudwatch:namespace": "App"}}},
    ],
}
TRUST = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}


def denied(call) -> str | None:
    try:
        call()
    except ClientError as e:
        return e.response["Error"]["Code"] or str(e.response["ResponseMetadata"].get("HTTPStatusCode"))
    return None


@pytest.fixture(scope="module")
def moto(tmp_path_factory):
    with MotoServer(tmp_path_factory.mktemp("moto")) as m:
        ddb, s3 = m.client("dynamodb"), m.client("s3")
        ddb.create_table(TableName="t", KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
                         AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
                         BillingMode="PAY_PER_REQUEST")
        s3.create_bucket(Bucket="bkt-logs")
        for key in ("logs/a", "other/a"):
            s3.put_object(Bucket="bkt-logs", Key=key, Body=b"x")
        iam = m.client("iam")
        role = iam.create_role(RoleName="fn-role", AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]
        iam.put_role_policy(RoleName="fn-role", PolicyName="fn", PolicyDocument=json.dumps(ROLE_POLICY))
        iam.attach_role_policy(RoleName="fn-role",
                               PolicyArn="arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole")
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            z.writestr("bootstrap", "#!/bin/sh\n")
        m.client("lambda").create_function(FunctionName="fn", Runtime="provided.al2023", Handler="bootstrap",
                                           Role=role["Arn"], Code={"ZipFile": buf.getvalue()})
        yield m


def test_unknown_keys_are_refused(moto):
    assert denied(lambda: moto._client("sts", "testing", "testing").get_caller_identity()) == "InvalidClientTokenId"
    bad = moto._client("iam", moto.admin.key_id, "x" * 40)
    assert denied(lambda: bad.list_users()) == "SignatureDoesNotMatch"
    assert denied(lambda: moto.client("iam").list_users()) is None  # the administrator can


def test_moto_checks_operation_names_and_star_resources(moto):
    """The raw role, copied verbatim: what moto makes of AWS's spelling (why iam_map exists)."""
    raw = local_iam.make_user(moto, "local-raw", ROLE_POLICY)
    ddb, s3, cw = moto.client("dynamodb", raw), moto.client("s3", raw), moto.client("cloudwatch", raw)
    assert denied(lambda: ddb.put_item(TableName="t", Item={"k": {"S": "a"}}))  # table ARN never matches
    assert not denied(lambda: s3.get_object(Bucket="bkt-logs", Key="logs/a"))  # S3 ARNs do
    assert denied(lambda: s3.get_object(Bucket="bkt-logs", Key="other/a"))
    assert denied(lambda: cw.put_metric_data(Namespace="App", MetricData=[{"MetricName": "m", "Value": 1}]))
    star = local_iam.make_user(moto, "local-star", {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:ConditionCheckItem"],
         "Resource": "*"}]})
    d = moto.client("dynamodb", star)
    assert not denied(lambda: d.put_item(TableName="t", Item={"k": {"S": "a"}}))
    assert denied(lambda: d.transact_write_items(
        TransactItems=[{"Put": {"TableName": "t", "Item": {"k": {"S": "b"}}}}]))


def test_function_user_holds_its_role_as_moto_enforces_it(moto):
    ident = local_iam.function_user(moto, "fn")
    assert ident.role == "fn-role" and "dynamodb:PutItem" in ident.role_actions
    assert "logs:CreateLogStream" in ident.role_actions  # the attached managed policy is read too
    ddb, s3 = moto.client("dynamodb", ident.creds), moto.client("s3", ident.creds)
    cw = moto.client("cloudwatch", ident.creds)
    assert not denied(lambda: ddb.put_item(TableName="t", Item={"k": {"S": "c"}}))
    assert not denied(lambda: ddb.transact_write_items(  # AWS checks PutItem per item
        TransactItems=[{"Put": {"TableName": "t", "Item": {"k": {"S": "d"}}}}]))
    assert not denied(lambda: ddb.batch_get_item(RequestItems={"t": {"Keys": [{"k": {"S": "c"}}]}}))
    assert not denied(lambda: cw.put_metric_data(Namespace="App", MetricData=[{"MetricName": "m", "Value": 1}]))
    assert not denied(lambda: s3.get_object(Bucket="bkt-logs", Key="logs/a"))
    # Outside the role: refused.
    assert denied(lambda: ddb.scan(TableName="t")) is not None
    assert denied(lambda: ddb.delete_item(TableName="t", Key={"k": {"S": "c"}})) is not None
    assert denied(lambda: ddb.get_item(TableName="t", Key={"k": {"S": "c"}})) is not None
    assert denied(lambda: s3.get_object(Bucket="bkt-logs", Key="other/a")) is not None
    assert denied(lambda: s3.put_object(Bucket="bkt-logs", Key="logs/new", Body=b"y")) is not None
    assert denied(lambda: moto.client("sns", ident.creds).list_topics()) is not None
    assert any("Resource->*" in n for n in ident.notes) and any("Condition dropped" in n for n in ident.notes)


def test_mapping_table():
    assert iam_map.moto_actions("dynamodb:PutItem") == ["dynamodb:PutItem", "dynamodb:TransactWriteItems"]
    assert iam_map.moto_actions("dynamodb:GetItem") == ["dynamodb:GetItem", "dynamodb:TransactGetItems"]
    assert iam_map.moto_actions("cloudwatch:GetMetricData") == ["monitoring:GetMetricData"]
    assert iam_map.moto_actions("ssm:GetParameter") == ["ssm:GetParameter"]
    assert "dynamodb:TransactWriteItems" in iam_map.moto_actions("dynamodb:*Item")  # wildcards as IAM's
    assert "dynamodb:TransactWriteItems" not in iam_map.moto_actions("dynamodb:BatchGetItem")
    for row in iam_map.ROWS:
        assert row.reason and row.doc.startswith("https://docs.aws.amazon.com/"), row


def test_local_statement_scopes():
    st, notes = iam_map.local_statement({"Effect": "Allow", "Action": "sns:Publish", "Resource": "arn:aws:sns:x"})
    assert st["Resource"] == ["*"] and notes == ["Resource->*"]
    st, notes = iam_map.local_statement({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"})
    assert st["Resource"] == ["arn:aws:s3:::b/*"] and notes == []


def test_gateway_auth_reads_keys_methods_and_callers_from_moto(moto):
    """The front's view of a deployed API: method auth, the stage's usage-plan keys, SigV4 callers."""
    from urllib.parse import urlsplit

    from . import gateway_auth
    from .apigw_front import routes_from_moto

    apigw = moto.client("apigateway")
    api = apigw.create_rest_api(name="api")["id"]
    root = next(r["id"] for r in apigw.get_resources(restApiId=api)["items"] if r["path"] == "/")
    res = apigw.create_resource(restApiId=api, parentId=root, pathPart="metrics")["id"]
    for method, kw in (("GET", {"authorizationType": "NONE", "apiKeyRequired": True}),
                       ("POST", {"authorizationType": "AWS_IAM"})):
        apigw.put_method(restApiId=api, resourceId=res, httpMethod=method, **kw)
        apigw.put_integration(restApiId=api, resourceId=res, httpMethod=method, type="MOCK")
    apigw.create_deployment(restApiId=api, stageName="v1")
    plan = apigw.create_usage_plan(name="p", apiStages=[{"apiId": api, "stage": "v1"}])["id"]
    other = apigw.create_usage_plan(name="elsewhere")["id"]  # attached to no stage of this API
    key = apigw.create_api_key(name="k", enabled=True, value="a" * 30)
    stray = apigw.create_api_key(name="stray", enabled=True, value="b" * 30)
    disabled = apigw.create_api_key(name="off", enabled=False, value="c" * 30)
    apigw.create_usage_plan_key(usagePlanId=plan, keyId=key["id"], keyType="API_KEY")
    apigw.create_usage_plan_key(usagePlanId=plan, keyId=disabled["id"], keyType="API_KEY")
    apigw.create_usage_plan_key(usagePlanId=other, keyId=stray["id"], keyType="API_KEY")

    routes = {r.resource: r for r in routes_from_moto(apigw, api)}
    assert routes["/metrics"].auth["GET"] == gateway_auth.MethodAuth(True, "NONE")
    assert routes["/metrics"].auth["POST"] == gateway_auth.MethodAuth(False, "AWS_IAM")
    gw = gateway_auth.from_moto(moto, api, "v1")
    assert gw.api_keys == {"a" * 30}, "only enabled keys of a plan on this stage"

    caller = local_iam.make_user(moto, "local-caller", {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": f"arn:aws:execute-api:*:*:{api}/v1/*"}]})
    nobody = local_iam.make_user(moto, "local-nobody", {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "sns:Publish", "Resource": "*"}]})
    url = "http://127.0.0.1:1/v1/metrics"

    def post(creds, body=b"{}"):
        hdrs = gateway_auth.sign("POST", url, creds, body, {"Content-Type": "application/json"})
        hdrs["Host"] = urlsplit(url).netloc
        return gw.check(routes["/metrics"].auth["POST"], "POST", "/metrics", "/v1/metrics", list(hdrs.items()), body)

    denied, who = post(caller)
    assert denied is None and who.user_arn.endswith(":user/local-caller") and who.access_key == caller.key_id
    denied, _ = post(nobody)
    assert denied.response_type == "ACCESS_DENIED" and "execute-api:Invoke" in denied.body["Message"]
    moto.client("iam").update_access_key(UserName="local-caller", AccessKeyId=caller.key_id, Status="Inactive")
    denied, _ = post(caller)
    assert denied.body == gateway_auth.MSG_UNKNOWN_KEY, "an inactive key is refused"


def test_a_form_post_is_verified_over_the_bytes_the_client_signed(moto):
    """SigV4 signs the payload as sent (https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html,
    "HashedPayload"); a query-protocol body is valid however the client percent-encodes it
    (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-making-api-requests-xml.html).
    The Rust SDK writes `%20` and `%0A` where Python's urlencode writes `+`: moto re-encoded the form
    and refused the Rust SDK's SNS Publish until moto_main.py checked the raw body."""
    import urllib.parse
    import urllib.request

    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    topic = moto.client("sns").create_topic(Name="t")["TopicArn"]
    body = ("Action=Publish&Version=2010-03-31&TopicArn=" + urllib.parse.quote(topic, safe="")
            + "&Message=" + urllib.parse.quote("two words\nand a line (ok)!", safe="")).encode()
    assert b"%20" in body and b"+" not in body
    request = AWSRequest(method="POST", url=moto.endpoint + "/", data=body,
                         headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    admin = moto.admin
    SigV4Auth(Credentials(admin.key_id, admin.secret), "sns", "us-east-1").add_auth(request)
    prepared = request.prepare()
    sent = urllib.request.Request(prepared.url, data=body, headers=dict(prepared.headers), method="POST")
    with urllib.request.urlopen(sent) as response:
        assert response.status == 200
        assert b"<MessageId>" in response.read()

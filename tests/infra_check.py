"""Checks of the SAM template that cfn-lint does not make: EU regions only,
table settings, log retention, least-privilege policies and the schedule's
time zone. Run: python3 tests/infra_check.py (tests/run does)."""

import sys
from pathlib import Path

from cfnlint.decode import cfn_yaml

TEMPLATE = Path(__file__).resolve().parent.parent / "infra" / "template.yaml"


def resources_of(template, kind):
    return {
        name: resource
        for name, resource in template["Resources"].items()
        if resource["Type"] == kind
    }


def policy_statements(function):
    for policy in function["Properties"].get("Policies", []):
        yield from policy.get("Statement", [])


def check(template):
    failures = []

    assertions = template["Rules"]["EuRegionsOnly"]["Assertions"]
    regions, region_ref = assertions[0]["Assert"]["Fn::Contains"]
    if region_ref != {"Ref": "AWS::Region"}:
        failures.append("the EU rule does not test AWS::Region")
    if not regions or any(not region.startswith("eu-") for region in regions):
        failures.append(f"the EU rule allows non-EU regions: {regions}")

    globals_function = template["Globals"]["Function"]
    if globals_function.get("Runtime") != "provided.al2023":
        failures.append("functions must run on provided.al2023")
    if globals_function.get("Architectures") != ["arm64"]:
        failures.append("functions must run on arm64")
    if globals_function.get("LoggingConfig", {}).get("LogFormat") != "JSON":
        failures.append("function logs must be JSON")

    for name, table in resources_of(template, "AWS::DynamoDB::Table").items():
        properties = table["Properties"]
        if properties.get("BillingMode") != "PAY_PER_REQUEST":
            failures.append(f"{name}: billing must be on demand")
        if not properties.get("TimeToLiveSpecification", {}).get("Enabled"):
            failures.append(f"{name}: TTL must be enabled")
        if not properties.get("PointInTimeRecoverySpecification", {}).get("PointInTimeRecoveryEnabled"):
            failures.append(f"{name}: point-in-time recovery must be enabled")
        if not properties.get("SSESpecification", {}).get("SSEEnabled"):
            failures.append(f"{name}: encryption must be enabled")

    functions = resources_of(template, "AWS::Serverless::Function")
    expected = {"rooms-api", "signaling", "web", "daily-emailer"}
    binaries = {function["Metadata"]["BuildProperties"]["Binary"] for function in functions.values()}
    if binaries != expected:
        failures.append(f"functions built: {sorted(binaries)}, expected {sorted(expected)}")
    log_groups = resources_of(template, "AWS::Logs::LogGroup")
    for name, function in functions.items():
        group = function["Properties"].get("LoggingConfig", {}).get("LogGroup", {}).get("Ref")
        if group not in log_groups or "RetentionInDays" not in log_groups[group]["Properties"]:
            failures.append(f"{name}: needs its own log group with a retention period")
        for statement in policy_statements(function):
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            for action in actions:
                if action.endswith("*") or action == "dynamodb:Scan":
                    failures.append(f"{name}: action {action} is broader than needed")
            resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            if "*" in resources:
                failures.append(f"{name}: a policy applies to every resource")

    # The indexes the DynamoDB adapter queries (shared/src/store/dynamodb.rs).
    rooms = template["Resources"]["RoomsTable"]["Properties"]
    indexes = {
        index["IndexName"]: [part["AttributeName"] for part in index["KeySchema"]]
        for index in rooms.get("GlobalSecondaryIndexes", [])
    }
    expected_indexes = {
        "byPractitioner": ["practitionerId", "dateKey"],
        "byMailDate": ["mailDate", "dayStart"],
        "byEraseDate": ["eraseDate", "dayEnd"],
    }
    if indexes != expected_indexes:
        failures.append(f"rooms table indexes {indexes}, expected {expected_indexes}")

    # Every rooms API route, the patient data routes included, reaches the
    # function through one catch-all route behind the JWT authorizer. The
    # export and erasure of a patient's data query byPractitioner and delete
    # rooms conditionally.
    http_api_auth = template["Resources"]["HttpApi"]["Properties"].get("Auth", {})
    if http_api_auth.get("DefaultAuthorizer") != "PracticeJwt":
        failures.append("HttpApi: the JWT authorizer must be the default")
    rooms_api = functions["RoomsApiFunction"]
    api_route = rooms_api["Properties"]["Events"].get("Api", {}).get("Properties", {})
    if api_route.get("Path") != "/api/{proxy+}" or api_route.get("Method") != "ANY" or "Auth" in api_route:
        failures.append("RoomsApiFunction: ANY /api/{proxy+} must use the default JWT authorizer")
    granted = set()
    for statement in policy_statements(rooms_api):
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        for action in actions:
            for resource in resources:
                granted.add((action, str(resource)))
    for action, resource in [
        ("dynamodb:GetItem", "RoomsTable"),
        ("dynamodb:DeleteItem", "RoomsTable"),
        ("dynamodb:Query", "/index/byPractitioner"),
    ]:
        if not any(granted_action == action and resource in granted_resource for granted_action, granted_resource in granted):
            failures.append(f"RoomsApiFunction: lacks {action} on {resource}")

    retention = template["Parameters"].get("RetentionDays", {})
    if retention.get("MaxValue", 1000) > 90 or retention.get("Default", 1000) > 90:
        failures.append("RetentionDays must default to and stay at most 90 days")

    # Environment the functions read at start-up.
    needed_variables = {
        "RoomsApiFunction": {"ROOMS_TABLE", "PUBLIC_URL", "MAIL_FROM", "RETENTION_DAYS", "SEND_AFTER", "MAIL_RATE"},
        "DailyEmailerFunction": {"ROOMS_TABLE", "PUBLIC_URL", "MAIL_FROM", "SEND_AFTER", "MAIL_RATE"},
        "SignalingFunction": {"ROOMS_TABLE", "CONNECTIONS_TABLE", "TURN_URLS", "TURN_SECRET_ARN"},
        # The privacy page states the retention periods, the relay and the operator.
        "WebFunction": {
            "PUBLIC_URL", "SIGNALING_URL", "RETENTION_DAYS", "LOG_RETENTION_DAYS", "TURN_URLS",
            "OPERATOR_NAME", "OPERATOR_ADDRESS", "OPERATOR_EMAIL", "DATA_PROTECTION_OFFICER",
        },
    }
    for name, variables in needed_variables.items():
        present = set(functions[name]["Properties"].get("Environment", {}).get("Variables", {}))
        if not variables <= present:
            failures.append(f"{name}: environment lacks {sorted(variables - present)}")

    for name, schedule in resources_of(template, "AWS::Scheduler::Schedule").items():
        if schedule["Properties"].get("ScheduleExpressionTimezone") != "Europe/Berlin":
            failures.append(f"{name}: the schedule must run in Europe/Berlin time")
    if not resources_of(template, "AWS::Scheduler::Schedule"):
        failures.append("no EventBridge Scheduler schedule")

    return failures


def main():
    template = cfn_yaml.load(str(TEMPLATE))
    failures = check(template)
    for failure in failures:
        print(f"FAIL: {failure}")
    print(f"infra_check: {0 if failures else 1} passed, {1 if failures else 0} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

"""Checks of the TURN relay's stack, its build and deploy scripts and its setup.

Builds the deployable template with infra/turn/build-stack into a temporary
directory and runs cfn-lint on it. Then it checks what cfn-lint does not:
the open ports, the region rule, least-privilege IAM, no SSH, the outputs,
the bundle in the user data and its size. It also runs bash -n and
shellcheck on the shell scripts and the argument checks of deploy and setup.
Nothing here reaches the network: deploy runs against a stand-in `aws`
command.

Run: python3 tests/turn_infra_check.py (needs cfn-lint and shellcheck).
"""

import base64
import importlib.machinery
import importlib.util
import io
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from cfnlint.decode import cfn_yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
TURN_DIR = REPO_ROOT / "infra" / "turn"
STACK_TEMPLATE = TURN_DIR / "stack.yaml"
BUILD_STACK = TURN_DIR / "build-stack"
DEPLOY = TURN_DIR / "deploy"
SETUP = TURN_DIR / "setup"
BUNDLE_FILES = {"turnserver.conf.in": 0o644, "render-config": 0o755, "setup": 0o755}

ANYWHERE = "0.0.0.0/0"
# (protocol, from port, to port, source) of every rule the relay needs.
EXPECTED_INGRESS = {
    ("udp", 3478, 3478, ANYWHERE),
    ("tcp", 3478, 3478, ANYWHERE),
    ("tcp", 443, 443, ANYWHERE),
    ("udp", 49152, 65535, ANYWHERE),
    ("tcp", 80, 80, ANYWHERE),
}
SSM_CORE_POLICY = {"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/AmazonSSMManagedInstanceCore"}
EXPECTED_TURN_URLS = (
    "stun:${TurnDomain}:3478,turn:${TurnDomain}:3478?transport=udp,"
    "turn:${TurnDomain}:3478?transport=tcp,turns:${TurnDomain}:443?transport=tcp"
)
USER_DATA_LIMIT = 16384
TEMPLATE_BODY_LIMIT = 51200
IPV4_MAX_LENGTH = len("255.255.255.255")

SAMPLE_SECRET_ARN = "arn:aws:secretsmanager:eu-central-1:123456789012:secret:TurnSecret-AbCdEfGhIjKl-AbCdEf"
SAMPLE_VALUES = {
    "TurnDomain": "turn.example.de",
    "CertificateEmail": "ops@example.de",
    "TurnSecretArn": SAMPLE_SECRET_ARN,
    "TurnAddress.PublicIp": "203.0.113.7",
}
DEPLOY_ARGS = [
    "--stack-name", "practice-video-turn",
    "--domain", "turn.example.de",
    "--email", "ops@example.de",
    "--secret-arn", SAMPLE_SECRET_ARN,
]
SETUP_ARGS = [
    "--domain", "turn.example.de",
    "--email", "ops@example.de",
    "--secret-arn", SAMPLE_SECRET_ARN,
    "--public-ip", "203.0.113.7",
]
SUBSTITUTION = re.compile(r"\$\{([^}!][^}]*)\}")


def run(command, **kwargs):
    return subprocess.run(command, capture_output=True, text=True, timeout=120, **kwargs)


def as_list(value):
    return value if isinstance(value, list) else [value]


def resources_of(template, kind):
    return {name: resource for name, resource in template["Resources"].items() if resource["Type"] == kind}


def user_data_of(template):
    """Returns the instance's user data script, with ${...} still in place."""
    instance = template["Resources"]["TurnInstance"]["Properties"]
    return instance["UserData"]["Fn::Base64"]["Fn::Sub"]


def bundle_text_of(user_data):
    """Returns the base64 text between the here-document lines <<'BUNDLE' and BUNDLE."""
    lines = user_data.splitlines()
    start = next(index for index, line in enumerate(lines) if "<<'BUNDLE'" in line)
    end = lines.index("BUNDLE", start)
    return "".join(lines[start + 1 : end])


def with_sample_values(user_data):
    return SUBSTITUTION.sub(lambda match: SAMPLE_VALUES[match.group(1)], user_data)


def load_build_stack():
    loader = importlib.machinery.SourceFileLoader("build_stack", str(BUILD_STACK))
    spec = importlib.util.spec_from_loader("build_stack", loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def looks_like_ec2():
    """Returns whether setup's EC2 test passes here: cloud-init's cloud id or the DMI vendor."""
    if shutil.which("cloud-id") and run(["cloud-id"]).stdout.strip() == "aws":
        return True
    try:
        return Path("/sys/class/dmi/id/sys_vendor").read_text().strip() == "Amazon EC2"
    except OSError:
        return False


# --- Checks: each returns a list of failures ------------------------------------


def check_cfn_lint(built_path):
    failures = []
    for path in (built_path, STACK_TEMPLATE):
        result = run(["cfn-lint", str(path)])
        if result.returncode != 0:
            failures.append(f"cfn-lint {path} exited with {result.returncode}:\n{result.stdout}{result.stderr}")
    return failures


def check_marker(built_text):
    failures = []
    committed = STACK_TEMPLATE.read_text(encoding="utf-8")
    marker_lines = [line for line in committed.splitlines() if line.strip() == "__TURN_BUNDLE__"]
    if len(marker_lines) != 1:
        failures.append(f"stack.yaml has {len(marker_lines)} __TURN_BUNDLE__ lines, expected 1")
    if "__TURN_BUNDLE__" in built_text:
        failures.append("the built template still contains the marker __TURN_BUNDLE__")
    return failures


def check_security_group(template):
    failures = []
    groups = resources_of(template, "AWS::EC2::SecurityGroup")
    if list(groups) != ["TurnSecurityGroup"]:
        failures.append(f"security groups {sorted(groups)}, expected only TurnSecurityGroup")
        return failures
    for kind in ("AWS::EC2::SecurityGroupIngress", "AWS::EC2::SecurityGroupEgress"):
        if resources_of(template, kind):
            failures.append(f"{kind} resources open more than TurnSecurityGroup shows")

    properties = groups["TurnSecurityGroup"]["Properties"]
    rules = properties.get("SecurityGroupIngress", [])
    actual = [
        (rule.get("IpProtocol"), rule.get("FromPort"), rule.get("ToPort"), rule.get("CidrIp") or rule.get("CidrIpv6"))
        for rule in rules
    ]
    if len(actual) != len(set(actual)):
        failures.append(f"duplicate ingress rules: {actual}")
    if set(actual) != EXPECTED_INGRESS:
        failures.append(
            f"ingress rules differ: unexpected {sorted(set(actual) - EXPECTED_INGRESS)},"
            f" missing {sorted(EXPECTED_INGRESS - set(actual))}"
        )
    for rule in rules:
        if (rule.get("IpProtocol"), rule.get("FromPort")) == ("tcp", 80) and "HTTP-01" not in rule.get(
            "Description", ""
        ):
            failures.append("the TCP 80 rule's description must say it is for the HTTP-01 challenge")
    if "SecurityGroupEgress" in properties:
        failures.append("egress rules are set; the stack documents the default egress (all traffic)")
    if "egress" not in properties.get("GroupDescription", "").lower():
        failures.append("the group description must state the egress rule")
    return failures


def check_ports_match_setup(template):
    """Checks that setup uses the relay range and TLS port the security group opens."""
    failures = []
    setup = SETUP.read_text(encoding="utf-8")
    values = {}
    for name in ("TLS_PORT", "MIN_RELAY_PORT", "MAX_RELAY_PORT"):
        match = re.search(rf"^readonly {name}=(\d+)$", setup, re.MULTILINE)
        if not match:
            failures.append(f"setup does not define {name}")
            return failures
        values[name] = int(match.group(1))
    rules = template["Resources"]["TurnSecurityGroup"]["Properties"]["SecurityGroupIngress"]
    udp_ranges = {(rule["FromPort"], rule["ToPort"]) for rule in rules if rule["IpProtocol"] == "udp"}
    if (values["MIN_RELAY_PORT"], values["MAX_RELAY_PORT"]) not in udp_ranges:
        failures.append(f"setup's relay ports {values['MIN_RELAY_PORT']}-{values['MAX_RELAY_PORT']} are not opened")
    tcp_ports = {rule["FromPort"] for rule in rules if rule["IpProtocol"] == "tcp"}
    if values["TLS_PORT"] not in tcp_ports:
        failures.append(f"setup's TLS port {values['TLS_PORT']} is not opened")
    config = (TURN_DIR / "turnserver.conf.in").read_text(encoding="ascii")
    if not re.search(r"^listening-port=3478$", config, re.MULTILINE):
        failures.append("turnserver.conf.in no longer listens on 3478, which the security group opens")
    return failures


def check_region_rule(template):
    failures = []
    assertions = [
        assertion["Assert"]
        for rule in template.get("Rules", {}).values()
        for assertion in rule.get("Assertions", [])
    ]
    frankfurt_only = any(
        sorted(map(str, assertion.get("Fn::Equals", []))) == sorted(map(str, [{"Ref": "AWS::Region"}, "eu-central-1"]))
        for assertion in assertions
    )
    if not frankfurt_only:
        failures.append(f"no rule asserts AWS::Region equals eu-central-1; assertions: {assertions}")
    return failures


def check_iam(template):
    failures = []
    roles = resources_of(template, "AWS::IAM::Role")
    if list(roles) != ["InstanceRole"]:
        failures.append(f"IAM roles {sorted(roles)}, expected only InstanceRole")
        return failures
    for kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::IAM::User", "AWS::IAM::Group"):
        if resources_of(template, kind):
            failures.append(f"the stack has {kind} resources")

    role = roles["InstanceRole"]["Properties"]
    principals = [statement["Principal"] for statement in role["AssumeRolePolicyDocument"]["Statement"]]
    if principals != [{"Service": "ec2.amazonaws.com"}]:
        failures.append(f"the role trusts {principals}, expected only ec2.amazonaws.com")
    if role.get("ManagedPolicyArns") != [SSM_CORE_POLICY]:
        failures.append(f"managed policies {role.get('ManagedPolicyArns')}, expected only AmazonSSMManagedInstanceCore")

    statements = [
        statement for policy in role.get("Policies", []) for statement in policy["PolicyDocument"]["Statement"]
    ]
    if len(statements) != 1:
        failures.append(f"the role has {len(statements)} inline statements, expected 1")
    for statement in statements:
        if statement.get("Effect") != "Allow":
            failures.append(f"unexpected effect {statement.get('Effect')}")
        if as_list(statement.get("Action")) != ["secretsmanager:GetSecretValue"]:
            failures.append(f"inline actions {statement.get('Action')}, expected only secretsmanager:GetSecretValue")
        if as_list(statement.get("Resource")) != [{"Ref": "TurnSecretArn"}]:
            failures.append(f"GetSecretValue applies to {statement.get('Resource')}, expected only the TurnSecretArn parameter")

    profiles = resources_of(template, "AWS::IAM::InstanceProfile")
    if [profile["Properties"]["Roles"] for profile in profiles.values()] != [[{"Ref": "InstanceRole"}]]:
        failures.append("the instance profile must contain InstanceRole and nothing else")
    return failures


def check_no_ssh(template):
    failures = []
    for name, instance in resources_of(template, "AWS::EC2::Instance").items():
        if "KeyName" in instance["Properties"]:
            failures.append(f"{name} has a key pair")
    for name, parameter in template.get("Parameters", {}).items():
        if "KeyPair" in parameter.get("Type", ""):
            failures.append(f"parameter {name} asks for a key pair")
    for name, group in resources_of(template, "AWS::EC2::SecurityGroup").items():
        for rule in group["Properties"].get("SecurityGroupIngress", []):
            protocol = str(rule.get("IpProtocol"))
            low, high = rule.get("FromPort", 0), rule.get("ToPort", 65535)
            if protocol in ("tcp", "-1", "6") and low <= 22 <= high:
                failures.append(f"{name} opens port 22: {rule}")
    return failures


def check_instance(template):
    failures = []
    instance = template["Resources"]["TurnInstance"]["Properties"]
    if instance.get("MetadataOptions", {}).get("HttpTokens") != "required":
        failures.append("the instance must require IMDSv2 tokens")
    image = template["Parameters"].get("DebianImageId", {})
    if image.get("Default") != "/aws/service/debian/release/bookworm/latest/arm64":
        failures.append(f"the AMI parameter's default is {image.get('Default')}, expected Debian 12 arm64")
    if template["Parameters"].get("InstanceType", {}).get("Default") != "t4g.small":
        failures.append("the instance type must default to t4g.small")
    for name in ("TurnDomain", "CertificateEmail", "TurnSecretArn", "InstanceType"):
        if name not in template["Parameters"]:
            failures.append(f"parameter {name} is missing")
    return failures


def check_outputs(template):
    failures = []
    outputs = template.get("Outputs", {})
    for name in ("ElasticIp", "InstanceId", "TurnUrls"):
        if name not in outputs:
            failures.append(f"output {name} is missing")
    if outputs.get("ElasticIp", {}).get("Value") != {"Fn::GetAtt": ["TurnAddress", "PublicIp"]}:
        failures.append("ElasticIp must be the Elastic IP's address")
    if outputs.get("InstanceId", {}).get("Value") != {"Ref": "TurnInstance"}:
        failures.append("InstanceId must be the instance's id")
    if outputs.get("TurnUrls", {}).get("Value") != {"Fn::Sub": EXPECTED_TURN_URLS}:
        failures.append(f"TurnUrls is {outputs.get('TurnUrls', {}).get('Value')}, expected {EXPECTED_TURN_URLS}")
    return failures


def check_bundle(template):
    """Checks that the bundle in the user data contains exactly the repository's files, byte for byte."""
    failures = []
    try:
        archive = base64.b64decode(bundle_text_of(user_data_of(template)), validate=True)
        with tarfile.open(fileobj=io.BytesIO(archive), mode="r:*") as tar:
            members = {member.name: member for member in tar.getmembers()}
            if set(members) != set(BUNDLE_FILES):
                failures.append(f"bundle contains {sorted(members)}, expected {sorted(BUNDLE_FILES)}")
            for name, mode in BUNDLE_FILES.items():
                if name not in members:
                    continue
                if tar.extractfile(members[name]).read() != (TURN_DIR / name).read_bytes():
                    failures.append(f"bundle file {name} differs from infra/turn/{name}")
                if members[name].mode != mode:
                    failures.append(f"bundle file {name} has mode {members[name].mode:o}, expected {mode:o}")
    except (StopIteration, ValueError, tarfile.TarError) as error:
        failures.append(f"cannot read the bundle from the user data: {error!r}")
    return failures


def check_sizes(template, built_text):
    failures = []
    user_data = user_data_of(template)
    size = len(user_data.encode("utf-8"))
    for match in SUBSTITUTION.finditer(user_data):
        name = match.group(1)
        if name == "TurnAddress.PublicIp":
            longest = IPV4_MAX_LENGTH
        elif "MaxLength" in template["Parameters"].get(name, {}):
            longest = int(template["Parameters"][name]["MaxLength"])
        else:
            failures.append(f"the user data uses ${{{name}}}, which has no maximum length")
            continue
        size += longest - len(match.group(0))
    if size > USER_DATA_LIMIT:
        failures.append(f"the user data can reach {size} bytes, above EC2's limit of {USER_DATA_LIMIT}")

    known = load_build_stack().SUBSTITUTION_MAX_LENGTHS
    for name, longest in known.items():
        parameter = template["Parameters"].get(name)
        if parameter is not None and int(parameter.get("MaxLength", -1)) != longest:
            failures.append(f"build-stack assumes {name} has at most {longest} characters, stack.yaml says {parameter.get('MaxLength')}")

    template_size = len(built_text.encode("utf-8"))
    if template_size > TEMPLATE_BODY_LIMIT:
        failures.append(f"the built template has {template_size} bytes, above {TEMPLATE_BODY_LIMIT}")
    return failures


def check_shell_scripts(template, work_dir):
    failures = []
    user_data_script = work_dir / "user-data.sh"
    user_data_script.write_text(with_sample_values(user_data_of(template)), encoding="utf-8")
    scripts = [SETUP, DEPLOY, user_data_script]
    for script in scripts:
        result = run(["bash", "-n", str(script)])
        if result.returncode != 0:
            failures.append(f"bash -n {script.name}: {result.stderr.strip()}")
    if shutil.which("shellcheck") is None:
        failures.append("shellcheck not found: install Debian's shellcheck package (apt-get install shellcheck)")
        return failures
    for script in scripts:
        result = run(["shellcheck", "--shell=bash", str(script)])
        if result.returncode != 0:
            failures.append(f"shellcheck {script.name}:\n{result.stdout.strip()}")
    return failures


def check_setup_renders_production():
    failures = []
    setup = SETUP.read_text(encoding="utf-8")
    calls = re.findall(r'"\$BUNDLE_DIR/render-config"((?:[^\n]*\\\n)*[^\n]*)', setup)
    if len(calls) != 1:
        failures.append(f"setup calls render-config {len(calls)} times, expected once")
    for call in calls:
        if "--profile production" not in call:
            failures.append("setup must call render-config with --profile production")
        for option in ("--listening-ip", "--relay-ip", "--external-ip", "--own-peer-ip", "--cert", "--pkey"):
            if option not in call:
                failures.append(f"setup's render-config call lacks {option}")
    if "--profile loopback" in setup:
        failures.append("setup mentions the loopback profile, which allows loopback peers")
    header = re.search(r'^readonly CONFIG_HEADER="(.*)"$', setup, re.MULTILINE)
    first_line = (TURN_DIR / "turnserver.conf.in").read_text(encoding="ascii").splitlines()[0]
    if not header or header.group(1) != first_line:
        failures.append("setup's CONFIG_HEADER must equal the first line of turnserver.conf.in")
    return failures


def check_deploy_cli(work_dir):
    failures = []
    # Every call goes to a stand-in for the AWS CLI that records its
    # arguments, so even a deploy whose argument checks broke reaches no AWS.
    bin_dir = work_dir / "bin"
    bin_dir.mkdir()
    aws_log = work_dir / "aws-calls"
    stand_in = bin_dir / "aws"
    stand_in.write_text(f'#!/bin/sh\nprintf "%s\\n" "$*" >> "{aws_log}"\n', encoding="utf-8")
    stand_in.chmod(0o755)
    environment = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    built = work_dir / "deploy-build" / "stack.yaml"
    template_args = ["--template-file", str(built)]

    result = run([str(DEPLOY), "--help"], env=environment)
    if result.returncode != 0 or "--secret-arn" not in result.stdout:
        failures.append(f"deploy --help exited with {result.returncode}: {result.stderr}")

    invalid_calls = {
        "no arguments": ([], "--stack-name is missing"),
        "no secret": (DEPLOY_ARGS[:-2], "--secret-arn is missing"),
        "bad domain": (DEPLOY_ARGS[:3] + ["turn_example"] + DEPLOY_ARGS[4:], "not a fully qualified host name"),
        "bad email": (DEPLOY_ARGS[:5] + ["ops"] + DEPLOY_ARGS[6:], "not an email address"),
        "non-EU secret": (DEPLOY_ARGS[:7] + [SAMPLE_SECRET_ARN.replace("eu-central-1", "us-east-1")], "EU region"),
        "x86 instance": (DEPLOY_ARGS + ["--instance-type", "t3.small"], "is not one of"),
        "unknown option": (DEPLOY_ARGS + ["--region", "eu-west-1"], "unknown option"),
        "missing value": (DEPLOY_ARGS + ["--instance-type"], "needs a value"),
    }
    for case, (args, message) in invalid_calls.items():
        result = run([str(DEPLOY), *template_args, *args], env=environment)
        if result.returncode != 2 or message not in result.stderr:
            failures.append(f"deploy with {case}: exit {result.returncode}, expected 2 and {message!r}: {result.stderr.strip()}")
    if aws_log.exists():
        failures.append("deploy called the AWS CLI despite invalid arguments")
        aws_log.unlink()

    result = run([str(DEPLOY), *DEPLOY_ARGS, *template_args, "--build-only"], env=environment)
    if result.returncode != 0 or not built.is_file():
        failures.append(f"deploy --build-only exited with {result.returncode}: {result.stderr.strip()}")
    if aws_log.exists():
        failures.append("deploy --build-only called the AWS CLI")
        aws_log.unlink()

    result = run([str(DEPLOY), *DEPLOY_ARGS, "--instance-type", "t4g.medium", *template_args], env=environment)
    calls = aws_log.read_text(encoding="utf-8").splitlines() if aws_log.exists() else []
    if result.returncode != 0 or not calls:
        failures.append(f"deploy with a stand-in aws exited with {result.returncode}: {result.stderr.strip()}")
        return failures
    deploy_call = calls[0]
    expected_parts = [
        "cloudformation deploy",
        "--region eu-central-1",
        "--stack-name practice-video-turn",
        f"--template-file {built}",
        "--capabilities CAPABILITY_IAM",
        "TurnDomain=turn.example.de",
        "CertificateEmail=ops@example.de",
        f"TurnSecretArn={SAMPLE_SECRET_ARN}",
        "InstanceType=t4g.medium",
    ]
    for part in expected_parts:
        if part not in deploy_call:
            failures.append(f"deploy's AWS CLI call lacks {part!r}: {deploy_call}")
    if not any(call.startswith("cloudformation describe-stacks --region eu-central-1") for call in calls[1:]):
        failures.append(f"deploy does not read the stack's outputs: {calls}")
    return failures


def check_setup_cli():
    """Runs setup only in ways that stop before it changes anything: help, bad arguments and the EC2 guard."""
    failures = []
    result = run([str(SETUP), "--help"])
    if result.returncode != 0 or "--reload-secret" not in result.stdout:
        failures.append(f"setup --help exited with {result.returncode}: {result.stderr.strip()}")

    invalid_calls = {
        "unknown option": (["--verbose"], "unknown option"),
        "bad domain": (SETUP_ARGS[:1] + ["localhost"] + SETUP_ARGS[2:], "not a fully qualified host name"),
        "bad ARN": (SETUP_ARGS[:5] + ["arn:aws:s3:::bucket"] + SETUP_ARGS[6:], "not the ARN"),
        "bad IP": (SETUP_ARGS[:7] + ["203.0.113.256"], "not an IPv4 address"),
        "missing public IP": (SETUP_ARGS[:6], "--public-ip is missing"),
    }
    for case, (args, message) in invalid_calls.items():
        result = run([str(SETUP), *args])
        if result.returncode != 2 or message not in result.stderr:
            failures.append(f"setup with {case}: exit {result.returncode}, expected 2 and {message!r}: {result.stderr.strip()}")

    # On an EC2 instance the guard would let setup go on and change the machine.
    if looks_like_ec2():
        print("  (skipped the EC2 guard of setup: this machine is an EC2 instance)")
    else:
        result = run([str(SETUP), *SETUP_ARGS])
        if result.returncode != 1 or "not an EC2 instance" not in result.stderr:
            failures.append(f"setup ran outside EC2: exit {result.returncode}: {result.stderr.strip()}")
    return failures


def check_output_ignored_by_git():
    """Checks that git ignores build-stack's default output, which must never be committed."""
    default_output = load_build_stack().DEFAULT_OUTPUT.relative_to(REPO_ROOT)
    result = run(["git", "-C", str(REPO_ROOT), "check-ignore", "--quiet", "--no-index", str(default_output)])
    if result.returncode != 0:
        return [f"git does not ignore build-stack's default output {default_output}"]
    return []


def main():
    failures_by_check = {}
    with tempfile.TemporaryDirectory(prefix="turn-infra-check.") as temporary:
        work_dir = Path(temporary)
        built_path = work_dir / "stack.yaml"
        result = run([sys.executable, str(BUILD_STACK), "--output", str(built_path)])
        if result.returncode != 0:
            print(f"FAIL: build-stack exited with {result.returncode}: {result.stderr.strip()}")
            print("turn_infra_check: 0 passed, 1 failed")
            return 1
        built_text = built_path.read_text(encoding="utf-8")
        template = cfn_yaml.load(str(built_path))

        checks = {
            "cfn-lint of the built and the committed template": lambda: check_cfn_lint(built_path),
            "bundle marker": lambda: check_marker(built_text),
            "security group ingress": lambda: check_security_group(template),
            "ports shared by setup and the security group": lambda: check_ports_match_setup(template),
            "Frankfurt region rule": lambda: check_region_rule(template),
            "IAM least privilege": lambda: check_iam(template),
            "no SSH": lambda: check_no_ssh(template),
            "instance settings": lambda: check_instance(template),
            "outputs": lambda: check_outputs(template),
            "bundle equals the repository files": lambda: check_bundle(template),
            "user data and template sizes": lambda: check_sizes(template, built_text),
            "bash -n and shellcheck": lambda: check_shell_scripts(template, work_dir),
            "setup renders the production profile": check_setup_renders_production,
            "deploy arguments and AWS CLI call": lambda: check_deploy_cli(work_dir),
            "setup arguments and EC2 guard": check_setup_cli,
            "build output ignored by git": check_output_ignored_by_git,
        }
        for name, check in checks.items():
            failures_by_check[name] = check()
            status = "FAIL" if failures_by_check[name] else "ok"
            print(f"{status}: {name}")
            for failure in failures_by_check[name]:
                print(f"  {failure}")

    failed = sum(1 for failures in failures_by_check.values() if failures)
    print(f"turn_infra_check: {len(failures_by_check) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

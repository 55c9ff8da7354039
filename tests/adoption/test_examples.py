"""examples/ checked by the tools of their ecosystems: systemd-analyze verify and security on the
units (the exposure score the README records), action-validator on the GitHub Actions workflow,
the GitLab CI file and the Kubernetes manifests parsed (PyYAML) and their script lines checked by
bash -n, the manifests validated against the Kubernetes OpenAPI schema (npm kubernetes-models, with
unknown fields refused as kubectl's strict validation does); and every fleetca command line in examples/, the README and the man page parsed by the real
argument parser (adoptlib.check_parses: the line with --help appended)."""
import copy
import glob
import json
import os
import re
import shutil
import tempfile

import yaml

from adoptlib import FLEETCA, SOURCE, Failures, check_parses, expect, fleetca_commands, run, tool

T = Failures()
EX = os.path.join(SOURCE, "examples")
UNITS = ["fleetca-reconcile.service", "fleetca-apply.service", "fleetca-apply.timer"]
HARDENING = ["DynamicUser=yes", "NoNewPrivileges=yes", "ProtectSystem=strict", "PrivateTmp=yes", "ProtectHome=yes",
             "CapabilityBoundingSet=", "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
             "SystemCallFilter=@system-service", "MemoryDenyWriteExecute=yes"]
README = open(os.path.join(SOURCE, "README.md")).read()
SEEN = []  # (where, argv) of every command line parsed


def unit_lines(name):
    """The unit's directives, with continuation lines joined and comments dropped."""
    text = open(os.path.join(EX, "systemd", name)).read().replace("\\\n", " ")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith(("#", ";"))]


def exec_start(name):
    line = [x for x in unit_lines(name) if x.startswith("ExecStart=")]
    expect(len(line) == 1, "%s has one ExecStart" % name)
    return line[0].split("=", 1)[1].replace("%%", "%")


def units_for_systemd():
    """A copy of the units whose ExecStart names the binary under test (systemd-analyze verify
    checks that the program exists; /usr/bin/fleetca is where the package puts it)."""
    d = tempfile.mkdtemp()
    for u in UNITS:
        with open(os.path.join(EX, "systemd", u)) as f, open(os.path.join(d, u), "w") as g:
            g.write(f.read().replace("/usr/bin/fleetca", os.path.abspath(FLEETCA)))
    return d


def seconds(v):
    m = re.fullmatch(r"(\d+)(ms|s|min|m|h)?", v)
    expect(m, "a duration: %r" % v)
    n, unit = int(m.group(1)), m.group(2) or "s"
    return n * {"ms": 0.001, "s": 1, "min": 60, "m": 60, "h": 3600}[unit]


@T.case
def systemd_verify():
    d = units_for_systemd()
    try:
        rc, out, err = run([tool("systemd-analyze"), "verify", "--man=no"] + [os.path.join(d, u) for u in UNITS])
        expect(rc == 0 and not out.strip() and not err.strip(), "systemd-analyze verify: %d %s%s" % (rc, out, err))
    finally:
        shutil.rmtree(d)


@T.case
def systemd_hardening_and_credentials():
    for u in UNITS[:2]:
        lines = unit_lines(u)
        for h in HARDENING:
            expect(h in lines, "%s has %s" % (u, h))
        creds = [x.split("=", 1)[1].split(":", 1)[0] for x in lines if x.startswith("LoadCredential=")]
        expect(sorted(creds) == ["mysql-password", "server-private-key"], "%s credentials %s" % (u, creds))
        expect("Environment=FLEET_MYSQL_PASSWORD_PATH=%d/mysql-password" in lines, u)
        expect("Environment=FLEETCA_SERVER_PRIVATE_KEY_PATH=%d/server-private-key" in lines, u)
        expect(not [x for x in lines if re.match(r"Environment=(FLEET_MYSQL_PASSWORD|FLEET_SERVER_PRIVATE_KEY)=", x)],
               "%s puts no secret in the environment" % u)
        # A stop never cuts a round: above the lock wait plus the delivery budget (FLEETCA_DELIVERY_BUDGET,
        # default 20 s: a run's whole delivery, every activity and retry, never takes longer).
        argv = fleetca_commands(exec_start(u))[0]
        lock = seconds(argv[argv.index("--lock-timeout") + 1])
        api = [x for x in lines if x.startswith("Environment=FLEETCA_DELIVERY_BUDGET=")]
        budget = lock + (seconds(api[0].split("=", 2)[2]) if api else 20)
        stop = [seconds(x.split("=", 1)[1]) for x in lines if x.startswith("TimeoutStopSec=")]
        expect(stop and stop[0] > budget, "%s: TimeoutStopSec %s > %s" % (u, stop, budget))
    expect("Type=oneshot" in unit_lines("fleetca-apply.service"), "the timer's service is a oneshot")
    expect("SuccessExitStatus=3 4" in unit_lines("fleetca-apply.service"), "a closed gate is no failure")


@T.case
def systemd_security_score_is_the_readme_s():
    d = units_for_systemd()
    try:
        scores = {}
        for u in UNITS[:2]:
            rc, out, err = run([tool("systemd-analyze"), "security", "--offline=true", "--no-pager",
                                os.path.join(d, u)])
            m = re.search(r"Overall exposure level for %s: ([0-9.]+) (\w+)" % re.escape(u), out)
            expect(m, "systemd-analyze security: %s %s" % (out[-300:], err))
            scores[u] = (m.group(1), m.group(2))
    finally:
        shutil.rmtree(d)
    for u, (score, word) in scores.items():
        expect(float(score) <= 2.0, "%s exposure %s" % (u, score))
        expect("`%s`: %s %s" % (u, score, word) in README, "the README records %s: %s %s" % (u, score, word))


@T.case
def systemd_command_lines():
    for u in UNITS[:2]:
        for argv in fleetca_commands(exec_start(u)):
            SEEN.append((u, argv))
            check_parses(argv, u)


@T.case
def github_actions_workflow():
    wf = os.path.join(EX, "github-actions", "fleetca.yml")
    rc, out, err = run([tool("action-validator"), wf])
    expect(rc == 0, "action-validator: %s %s" % (out[-1500:], err[-500:]))
    doc = yaml.safe_load(open(wf))
    on = doc[True] if True in doc else doc["on"]  # YAML 1.1 reads the key `on` as true
    expect(on["pull_request"]["paths"] == ["ca-rotation.yml"], "plans on PRs that touch the file")
    expect(on["push"]["branches"] == ["main"], "applies on push to main")
    plan, apply = doc["jobs"]["plan"], doc["jobs"]["apply"]
    expect(plan["env"]["FLEET_MYSQL_USERNAME"] == "${{ secrets.FLEETCA_PLAN_MYSQL_USERNAME }}", "plans read-only")
    expect(plan["permissions"]["pull-requests"] == "write", "the plan job may comment")
    steps = plan["steps"] + apply["steps"]
    expect(any("<!-- fleetca-plan -->" in s.get("with", {}).get("script", "") and "updateComment" in
               s["with"]["script"] for s in steps), "one comment, updated in place by its marker")
    runs = [s["run"] for s in steps if "run" in s]
    for r in runs:
        rc, _, err = run([tool("bash"), "-n", "-c", r.replace("${{", "X").replace("}}", "X")])
        expect(rc == 0, "bash -n: %s\n%s" % (err, r))
    argv = [a for r in runs for a in fleetca_commands(r)]
    expect(any("--offline" in a for a in argv), "forks are planned --offline")
    expect(any(a[1] == "apply" for a in argv), "apply on push")
    apply_run = [r for r in runs if "fleetca apply" in r][0]
    expect("0|2|3) exit 0" in apply_run and "*) exit 1" in apply_run, "exit 2 and 3 succeed, 1 and 4 fail")
    expect("GITHUB_STEP_SUMMARY" in apply_run, "a job summary")
    for a in argv:
        SEEN.append(("github-actions", a))
        check_parses(a, "github-actions/fleetca.yml")


@T.case
def gitlab_ci():
    doc = yaml.safe_load(open(os.path.join(EX, "gitlab-ci", ".gitlab-ci.yml")))
    jobs = {k: v for k, v in doc.items() if isinstance(v, dict) and "script" in v}
    expect(sorted(jobs) == ["fleetca-apply", "fleetca-plan"], sorted(jobs))
    expect(doc["stages"] == ["plan", "apply"] and all(j["stage"] in doc["stages"] for j in jobs.values()), "stages")
    expect(jobs["fleetca-plan"]["rules"][0]["if"] == '$CI_PIPELINE_SOURCE == "merge_request_event"', "MR only")
    expect(jobs["fleetca-apply"]["rules"][0]["if"] == "$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH", "default branch")
    argv = []
    for name, job in jobs.items():
        expect(all(isinstance(line, str) for line in job["script"]), "%s: script lines are strings" % name)
        script = "\n".join(job["script"])
        rc, _, err = run([tool("bash"), "-n", "-c", script])
        expect(rc == 0, "%s: bash -n: %s" % (name, err))
        argv += fleetca_commands(script)
    plan_script = "\n".join(jobs["fleetca-plan"]["script"])
    expect("/merge_requests/$CI_MERGE_REQUEST_IID/notes" in plan_script and "-X PUT" in plan_script,
           "the plan is one MR note, updated in place")
    expect(sorted(a[1] for a in argv) == ["apply", "plan"], argv)
    for a in argv:
        SEEN.append(("gitlab-ci", a))
        check_parses(a, ".gitlab-ci.yml")


def k8s_validate(objects):
    """tests/adoption/k8s_validate.mjs on these objects: (exit code, one line per object or error)."""
    rc, root, err = run([tool("npm"), "root", "-g"])
    expect(rc == 0, "npm root -g: %s" % err)
    rc, out, err = run([tool("node"), os.path.join(SOURCE, "tests", "adoption", "k8s_validate.mjs"), root.strip()],
                       input=json.dumps(objects))
    expect(not err, "k8s_validate.mjs: %s" % err)
    return rc, out.splitlines()


def k8s_manifests():
    docs = {}
    for f in sorted(glob.glob(os.path.join(EX, "kubernetes", "*.yaml"))):
        for d in yaml.safe_load_all(open(f)):
            expect(d.get("apiVersion") and d.get("metadata", {}).get("name"), "%s: a manifest" % f)
            docs[d["kind"]] = d
    return docs


@T.case
def kubernetes_schema():
    docs = k8s_manifests()
    rc, lines = k8s_validate(list(docs.values()))
    expect(rc == 0 and sorted(lines) == sorted("%s/%s: valid" % (k, d["metadata"]["name"]) for k, d in docs.items()),
           "the Kubernetes manifests against the schema: exit %d\n%s" % (rc, "\n".join(lines)))


@T.case
def kubernetes_schema_catches_a_bad_manifest():
    # The check can fail: a misspelled field (at the top of a spec and deep in a container), a wrong type,
    # a value outside an enum, a missing required field.
    cj = k8s_manifests()["CronJob"]
    name = "CronJob/%s" % cj["metadata"]["name"]
    container = ("spec", "jobTemplate", "spec", "template", "spec", "containers", 0)

    def at(d, keys):
        for k in keys:
            d = d[k]
        return d

    def spelled(d, keys, old, new):
        parent = at(d, keys)
        parent[new] = parent.pop(old)

    cases = [
        (lambda d: spelled(d, ("spec",), "concurrencyPolicy", "concurrencyPolicyy"),
         '.spec.concurrencyPolicyy: unknown field "concurrencyPolicyy"'),
        (lambda d: spelled(d, container + ("securityContext",), "readOnlyRootFilesystem", "readOnlyRootFilesytem"),
         'unknown field "readOnlyRootFilesytem"'),
        (lambda d: at(d, container)["securityContext"].update(runAsUser="nobody"),
         "/securityContext/runAsUser must be integer"),
        (lambda d: at(d, container).update(imagePullPolicy="Sometimes"), "must be equal to one of the allowed values"),
        (lambda d: at(d, container).pop("name"), "must have required property 'name'"),
    ]
    for mutate, want in cases:
        bad = copy.deepcopy(cj)
        mutate(bad)
        rc, lines = k8s_validate([bad])
        expect(rc == 1 and any(line.startswith(name + ": ") and want in line for line in lines),
               "not caught (%s): exit %d\n%s" % (want, rc, "\n".join(lines)))


@T.case
def kubernetes():
    docs = k8s_manifests()
    expect(sorted(docs) == ["ConfigMap", "CronJob", "Secret"], sorted(docs))
    cj = docs["CronJob"]["spec"]
    expect(cj["concurrencyPolicy"] == "Forbid", "never two at once")
    pod = cj["jobTemplate"]["spec"]["template"]["spec"]
    expect(pod["restartPolicy"] == "Never", "restartPolicy")
    expect(pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] != 0, "non-root")
    (c,) = pod["containers"]
    expect(c["securityContext"]["readOnlyRootFilesystem"] is True, "read-only root")
    expect(c["securityContext"]["allowPrivilegeEscalation"] is False, "no privilege escalation")
    env = {e["name"]: e.get("value") for e in c["env"]}
    expect("FLEET_MYSQL_PASSWORD" not in env and "FLEET_SERVER_PRIVATE_KEY" not in env, "no secret in env")
    mounts = {m["name"]: m["mountPath"] for m in c["volumeMounts"]}
    vols = {v["name"]: v for v in pod["volumes"]}
    secret_dir = mounts["secrets"]
    expect(vols["secrets"]["secret"]["secretName"] == docs["Secret"]["metadata"]["name"], "the Secret is mounted")
    for key, var in (("mysql-password", "FLEET_MYSQL_PASSWORD_PATH"),
                     ("server-private-key", "FLEETCA_SERVER_PRIVATE_KEY_PATH")):
        expect(key in docs["Secret"]["stringData"], "the Secret has %s" % key)
        expect(env[var] == "%s/%s" % (secret_dir, key), "%s names the mounted file" % var)
    expect(vols["desired-state"]["configMap"]["name"] == docs["ConfigMap"]["metadata"]["name"], "the ConfigMap")
    cmd = c["command"]
    script = cmd[2] if cmd[:2] == ["/bin/sh", "-c"] else " ".join(cmd)
    rc, _, err = run([tool("bash"), "-n", "-c", script])
    expect(rc == 0, err)
    argv = fleetca_commands(script)
    expect(len(argv) == 1 and argv[0][1] == "reconcile" and "--once" in argv[0], argv)
    path = argv[0][argv[0].index("-f") + 1]
    expect(os.path.dirname(path) == mounts["desired-state"], "the file is in the ConfigMap's mount")
    expect(os.path.basename(path) in docs["ConfigMap"]["data"], "the ConfigMap holds %s" % path)
    # The ConfigMap's desired state is a valid file.
    with tempfile.NamedTemporaryFile("w", suffix=".yml") as f:
        f.write(docs["ConfigMap"]["data"][os.path.basename(path)])
        f.flush()
        rc, out, err = run([FLEETCA, "validate", "-f", f.name])
        expect(rc == 0, "the ConfigMap's file validates: %s" % err)
    SEEN.append(("kubernetes", argv[0]))
    check_parses(argv[0], "kubernetes/cronjob.yaml")


def fenced_blocks(text, langs=("sh", "bash", "ini", "console", "shell")):
    """The shell of the README's code blocks; of an ini block (a unit), its ExecStart lines."""
    for m in re.finditer(r"^```(\w*)\n(.*?)^```", text, re.M | re.S):
        if m.group(1) == "ini":
            yield "\n".join(line.split("=", 1)[1].replace("%%", "%") for line in
                            m.group(2).replace("\\\n", " ").splitlines() if line.startswith("ExecStart="))
        elif m.group(1) in langs:
            yield m.group(2)


@T.case
def readme_and_man_command_lines():
    n = 0
    for block in fenced_blocks(README):
        for line in block.replace("\\\n", " ").splitlines():
            line = line.strip()
            for argv in fleetca_commands(line):
                n += 1
                SEEN.append(("README", argv))
                check_parses(argv, "README.md")
    man = open(os.path.join(SOURCE, "doc", "fleetca.1")).read()
    for m in re.finditer(r"^\.Bd -literal.*?\n(.*?)^\.Ed", man, re.M | re.S):
        for argv in fleetca_commands(m.group(1)):
            n += 1
            check_parses(argv, "fleetca.1")
    expect(n >= 15, "the README's and the man page's command lines were found: %d" % n)


@T.case
def every_example_yaml_validates():
    files = sorted(glob.glob(os.path.join(EX, "*.yml")))
    expect(len(files) >= 5, files)
    for f in files:
        rc, out, err = run([FLEETCA, "validate", "-f", f])
        expect(rc == 0, "%s: %s" % (f, err))


@T.case
def a_bad_line_is_caught():
    # The check can fail: an unknown option, a bad value, a missing value.
    for bad in (["fleetca", "plan", "-f", "x.yml", "--fromat", "json"], ["fleetca", "apply", "-f", "x.yml",
                "--lock-timeout", "forever"], ["fleetca", "reconcile", "-f", "x.yml", "--jitter", "90%"],
                ["fleetca", "status", "--format"]):
        try:
            check_parses(bad, "test")
        except AssertionError:
            continue
        raise AssertionError("not caught: %s" % bad)


T.done()

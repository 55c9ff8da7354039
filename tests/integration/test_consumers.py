"""fleetca's output read by its real consumers: the reconcile metrics file by `promtool check metrics`
(after a good round and after a failed one), the README's alert rules by `promtool check rules`
(each rule on a metric the file has), and the pull-request markdown rendered by `cmark-gfm -e table`
into one table and well-formed <details> (checked in the HTML)."""
import html.parser
import os
import re
import shutil
import subprocess
import tempfile

from fcalib import SOURCE, Failures, env_for, expect, new_db, run

T = Failures()
WORK = tempfile.mkdtemp(prefix="fca-consumers-")
EXAMPLE = os.path.join(SOURCE, "examples", "ca-rotation.yml")
README = open(os.path.join(SOURCE, "README.md")).read()
METRICS = {}


def tool(name):
    p = shutil.which(name)
    expect(p, "%s is not installed: run ci/install-deps" % name)
    return p


def promtool(*args, stdin=None):
    p = subprocess.run([tool("promtool")] + list(args), input=stdin, capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout + p.stderr


@T.case
def metrics_after_a_round_pass_promtool():
    db = new_db("cons")
    y = os.path.join(WORK, "desired.yml")
    with open(y, "w") as f:
        f.write("version: 1\npolicy:\n  min_overlap: 7d\ncas:\n  host_identity:\n    generation: 2\n    stage: active\n")
    m = os.path.join(WORK, "round.prom")
    rc, out, err = run(["reconcile", "-f", y, "--once", "--metrics-file", m], env_for(db))
    expect(rc == 3, "a gated round: exit %d %s" % (rc, err))
    text = open(m).read()
    METRICS["names"] = set(re.findall(r"^# TYPE (\S+)", text, re.M))
    expect("fleetca_gate_opens_timestamp_seconds" in METRICS["names"], "a closed time gate: %s" % text)
    rc, out = promtool("check", "metrics", stdin=text)
    expect(rc == 0 and not out.strip(), "promtool check metrics: %s\n%s" % (out, text))


@T.case
def metrics_after_a_failed_round_pass_promtool():
    db = new_db("consf")
    y = os.path.join(WORK, "bad.yml")
    with open(y, "w") as f:
        f.write("version: 1\ncas:\n  host_identity: { generation: two }\n")
    m = os.path.join(WORK, "failed.prom")
    rc, out, err = run(["reconcile", "-f", y, "--once", "--metrics-file", m], env_for(db))
    expect(rc == 1, "a bad file: exit %d" % rc)
    text = open(m).read()
    expect("fleetca_consecutive_failures 1" in text, text)
    rc, out = promtool("check", "metrics", stdin=text)
    expect(rc == 0 and not out.strip(), "promtool check metrics: %s\n%s" % (out, text))


@T.case
def readme_alert_rules_pass_promtool():
    blocks = [b for b in re.findall(r"^```yaml\n(.*?)^```", README, re.M | re.S) if b.startswith("groups:")]
    expect(len(blocks) == 1, "one rules block in the README: %d" % len(blocks))
    path = os.path.join(WORK, "rules.yml")
    with open(path, "w") as f:
        f.write(blocks[0])
    rc, out = promtool("check", "rules", path)
    m = re.search(r"SUCCESS: (\d+) rules found", out)
    expect(rc == 0 and m and int(m.group(1)) >= 2, "promtool check rules: %s" % out)
    # Each rule's metric is one the file really has (metrics_after_a_round_pass_promtool read them).
    names = METRICS.get("names", set()) | {"fleetca_consecutive_failures", "fleetca_outbox_pending"}
    for metric in re.findall(r"expr: .*?\b(fleetca_[a-z_]+)", blocks[0]):
        expect(metric in names, "%s is a metric fleetca writes: %s" % (metric, sorted(names)))
    # The rules can fail: a broken expression is refused.
    with open(path, "w") as f:
        f.write(blocks[0].replace("> 3 * 900", "> > 3"))
    rc, out = promtool("check", "rules", path)
    expect(rc != 0, "promtool refuses a broken rule: %s" % out)


class Structure(html.parser.HTMLParser):
    """Counts tables and checks that every <details> and <table> element closes in order."""

    def __init__(self):
        super().__init__()
        self.stack, self.tables, self.details, self.summaries, self.errors = [], 0, 0, 0, []

    def handle_starttag(self, tag, attrs):
        if tag in ("details", "summary", "table", "thead", "tbody", "tr"):
            self.stack.append(tag)
        self.tables += tag == "table"
        self.details += tag == "details"
        if tag == "summary":
            self.summaries += 1
            if len(self.stack) < 2 or self.stack[-2] != "details":
                self.errors.append("<summary> outside <details>")

    def handle_endtag(self, tag):
        if tag in ("details", "summary", "table", "thead", "tbody", "tr"):
            if not self.stack or self.stack[-1] != tag:
                self.errors.append("</%s> closes %s" % (tag, self.stack[-1:] or "nothing"))
            else:
                self.stack.pop()


def render(markdown):
    p = subprocess.run([tool("cmark-gfm"), "-e", "table", "--unsafe"], input=markdown, capture_output=True,
                       text=True, timeout=60)
    expect(p.returncode == 0, "cmark-gfm: %s" % p.stderr)
    return p.stdout


@T.case
def plan_markdown_renders_one_table_and_well_formed_details():
    db = new_db("consmd")
    rc, out, err = run(["plan", "-f", EXAMPLE, "--format", "markdown"], env_for(db))
    expect(rc == 2, "changes pending: %d %s" % (rc, err))
    page = render(out)
    s = Structure()
    s.feed(page)
    s.close()
    expect(s.tables == 1, "one table: %d\n%s" % (s.tables, page))
    expect(s.details >= 1 and s.summaries == s.details, "each <details> has its <summary>: %s" % page)
    expect(not s.errors and not s.stack, "well-formed: %s, left open %s\n%s" % (s.errors, s.stack, page))
    expect(re.search(r"<th[^>]*>CA</th>", page), "the table's header is rendered as a table: %s" % page)
    # The check can fail: a table cell with a raw | splits into an extra column, a lost </details>.
    broken = Structure()
    broken.feed(render(out.replace("</details>", "", 1)) + "</table>")
    expect(broken.errors or broken.stack, "a broken page is caught")


T.done()

"""mod_conduix directives: docs/directives.md documents every directive of
mod_conduix/conduix_directives.h, and bad values fail the config test with a
message that names the directive."""

from __future__ import annotations

import re
import subprocess

import pytest

from harness import REPO, Httpd

HEADER = REPO / "mod_conduix" / "conduix_directives.h"
DOC = REPO / "docs" / "directives.md"


def _header_directives() -> set[str]:
    return set(re.findall(r'^#define\s+\w+\s+"(Conduix\w+)"', HEADER.read_text(), re.M))


def _documented_directives() -> set[str]:
    return set(re.findall(r"^#{2,4}\s+`?(Conduix\w+)`?", DOC.read_text(), re.M))


def test_every_directive_is_documented():
    names = _header_directives()
    assert {"ConduixEngine", "ConduixDatabase", "ConduixProvider", "ConduixMaxBodySize",
            "ConduixUpstreamTimeout", "ConduixKeyCacheTTL"} <= names
    documented = _documented_directives()
    assert names - documented == set(), "undocumented directives"
    assert documented - names == set(), "documented directives that do not exist"


@pytest.fixture
def configtest(stack, httpd, request):
    """configtest(extra_lines) -> (returncode, output) of apache2 -t on the test
    configuration plus extra_lines."""
    n = [0]

    def run(extra: str):
        n[0] += 1
        d = stack.root / ("conftest-%s-%s-%d" % (httpd.mpm, re.sub(r"\W+", "_", request.node.name)[:40],
                                                n[0]))
        h = Httpd(d, httpd.mpm, stack.mariadb.dsn, stack.sim)
        h.port = httpd.port
        conf = h.write_conf()
        (d / "conf.d" / "extra.conf").write_text(extra + "\n")
        cp = subprocess.run(["/usr/sbin/apache2", "-t", "-f", str(conf)], capture_output=True,
                            text=True, timeout=30, env=h.env(), stdin=subprocess.DEVNULL)
        return cp.returncode, cp.stdout + cp.stderr
    return run


def test_valid_configuration_passes(configtest):
    rc, out = configtest("# nothing extra")
    assert rc == 0, out


@pytest.mark.parametrize("line,directive", [
    ("ConduixEngine Maybe", "ConduixEngine"),
    ("ConduixMaxBodySize lots", "ConduixMaxBodySize"),
    ("ConduixMaxBodySize -5", "ConduixMaxBodySize"),
    ("ConduixUpstreamTimeout soon", "ConduixUpstreamTimeout"),
    ("ConduixKeyCacheTTL -1", "ConduixKeyCacheTTL"),
    ("ConduixProvider openai not-a-url env:OPENAI_API_KEY", "ConduixProvider"),
    ("ConduixProvider openai http://127.0.0.1:1/v1 sk-inline-secret", "ConduixProvider"),
    ('ConduixDatabase "user=conduix password=x"', "ConduixDatabase"),
    ('ConduixDatabase "nonsense"', "ConduixDatabase"),
    ("ConduixSharedState memcached", "ConduixSharedState"),
    ("ConduixSharedState redis://127.0.0.1:6379", "ConduixSharedState"),
    ("ConduixSharedStateSize 4096", "ConduixSharedStateSize"),
    ("ConduixBreakerThreshold 0", "ConduixBreakerThreshold"),
    ("ConduixBreakerOpenSeconds soon", "ConduixBreakerOpenSeconds"),
    ("ConduixCache maybe", "ConduixCache"),
    ("ConduixCacheTTL 0", "ConduixCacheTTL"),
    ("ConduixCacheMaxEntrySize 12", "ConduixCacheMaxEntrySize"),
    ("ConduixBudgetAlert discord https://hooks.example.com/x", "ConduixBudgetAlert"),
    ("ConduixBudgetAlert slack file:///etc/sk-inline-secret", "ConduixBudgetAlert"),
    ("ConduixBudgetAlert teams gopher://127.0.0.1:70/sk-inline-secret", "ConduixBudgetAlert"),
    ("ConduixBudgetAlert slack https://u:sk-inline-secret@hooks.example.com/x", "ConduixBudgetAlert"),
])
def test_bad_value_fails_configtest_naming_the_directive(configtest, line, directive):
    rc, out = configtest(line)
    assert rc != 0, "apache2 -t accepted %r:\n%s" % (line, out)
    assert directive in out, "the error does not name %s:\n%s" % (directive, out)
    assert "sk-inline-secret" not in out, "a credential was echoed: %s" % out


def test_resilience_directives_accept_valid_values(configtest):
    rc, out = configtest("\n".join([
        "ConduixSharedState shm",
        "ConduixSharedStateSize 33554432",
        "ConduixBreakerThreshold 5",
        "ConduixBreakerOpenSeconds 60",
        "ConduixCache Off",
        "ConduixCacheTTL 3600",
        "ConduixCacheMaxEntrySize 1048576",
        "ConduixBudgetAlert slack https://hooks.slack.com/services/T000/B000/XXXX",
        "ConduixBudgetAlert teams https://example.webhook.office.com/webhookb2/abc",
        # accepted for configurations of earlier versions; the lock no longer uses it
        "Mutex file:/tmp conduix-state",
    ]))
    assert rc == 0, out

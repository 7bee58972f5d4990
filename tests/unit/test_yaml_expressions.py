"""Every conditional and template in the YAML we ship or test with parses: catches a `: ` or ` #` that YAML took
from an unquoted assert (it turns the line into a mapping or a comment) before a slow VM run does."""
import glob
import os

import jinja2
import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PATTERNS = ('extensions/molecule/**/*.yml', 'playbooks/*.yml', 'roles/**/*.yml', 'tests/**/*.yml', 'bench/**/*.yml')
FILES = sorted(set(f for p in PATTERNS for f in glob.glob(os.path.join(ROOT, p), recursive=True)
                   if '/output/' not in f))
CONDITIONS = ('that', 'when', 'failed_when', 'changed_when', 'until')


def problems(node, env, found):
    if isinstance(node, dict):
        for key, value in node.items():
            if key in CONDITIONS:
                for item in (value if isinstance(value, list) else [value]):
                    if isinstance(item, bool):
                        continue
                    if not isinstance(item, str):
                        found.append('%s: not a string (YAML read it as %r)' % (key, item))
                        continue
                    try:
                        env.parse('{{ %s }}' % item)
                    except jinja2.TemplateSyntaxError as exc:
                        found.append('%s: %s (%s)' % (key, item, exc))
            elif isinstance(value, str) and '{{' in value:
                try:
                    env.parse(value)
                except jinja2.TemplateSyntaxError as exc:
                    found.append('%s: %s (%s)' % (key, value, exc))
            problems(value, env, found)
    elif isinstance(node, list):
        for item in node:
            problems(item, env, found)
    return found


@pytest.mark.parametrize('path', FILES, ids=[os.path.relpath(f, ROOT) for f in FILES])
def test_expressions_parse(path):
    with open(path) as f:
        data = yaml.safe_load(f)
    assert problems(data, jinja2.Environment(), []) == []

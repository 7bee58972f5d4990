"""Property tests: the config and profile editors change exactly what was asked, and applying twice is once."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

from hypothesis import given, settings, strategies as st

from ansible_collections.confine.lsm.plugins.module_utils import _apparmor as aa
from ansible_collections.confine.lsm.plugins.module_utils import _files
from ansible_collections.confine.lsm.plugins.module_utils import _selinux_config as cfg

NL = st.sampled_from(['\n', '\r\n'])
JUNK = st.text(alphabet=st.characters(blacklist_characters='\r\n\v\f\x1c\x1d\x1e\x85\u2028\u2029\x00',
                                      blacklist_categories=('Cs',)), max_size=30)
LINE = st.one_of(
    JUNK.map(lambda t: '# ' + t),
    JUNK.filter(lambda t: '=' not in t and 'selinux' not in t.lower()),
    st.sampled_from(['SELINUX=enforcing', 'SELINUX=permissive', 'SELINUXTYPE=targeted', 'SETLOCALDEFS=0',
                     'SELINUX=\tDisabled # x', 'SELINUXTYPE=mls', 'selinuxtype = x', '  SelinuxType=  default \t',
                     'SELINUX=Enforcingxyz', 'SELINUXTYPE=', '']),
)


@st.composite
def config_texts(draw):
    lines = draw(st.lists(LINE, max_size=12))
    nl = draw(NL)
    text = nl.join(lines)
    if draw(st.booleans()):
        text += nl
    return text


@settings(max_examples=300, deadline=None)
@given(config_texts(), st.sampled_from(cfg.MODES), st.sampled_from(['targeted', 'default', 'mls']))
def test_config_edit_properties(text, state, policy):
    cfg.read_mode(text), cfg.read_policy(text)  # every text built from these lines is read (no ConfigError)
    new = cfg.set_values(text, {'SELINUX': state, 'SELINUXTYPE': policy})
    assert cfg.get(new, 'SELINUX') == state
    assert cfg.get(new, 'SELINUXTYPE') == policy
    assert cfg.set_values(new, {'SELINUX': state, 'SELINUXTYPE': policy}) == new

    # at most the two lines libselinux reads change; every other line is byte-identical and in place; at most two
    # lines are appended (a newline may be added to the last line first)
    old_lines, new_lines = cfg.split_lines(text), cfg.split_lines(new)
    assert len(old_lines) <= len(new_lines) <= len(old_lines) + 2
    changed = [i for i, (a, b) in enumerate(zip(old_lines, new_lines)) if a != b]
    last = len(old_lines) - 1
    assert len([i for i in changed if i != last or new_lines[i].rstrip('\r\n') != old_lines[i]]) <= 2
    for i in changed:
        assert new_lines[i].upper().lstrip(' \t').startswith(('SELINUX=', 'SELINUXTYPE')) or i == last


NAMES = ['profile nginx', '/usr/sbin/tcpdump', 'profile a /usr/bin/a', 'profile "b c"', '"/opt/x y"']
# at most one mode flag: apparmor_parser rejects two
FLAGS = st.tuples(st.lists(st.sampled_from(['attach_disconnected', 'mediate_deleted', 'audit']), max_size=2, unique=True),
                  st.sampled_from([None, 'complain', 'enforce', 'kill']), st.integers(0, 2)).map(
    lambda t: t[0][:t[2]] + ([t[1]] if t[1] else []) + t[0][t[2]:])


@st.composite
def profile_texts(draw):
    nl = draw(NL)
    out = ['abi <abi/3.0>,', 'include <tunables/global>', '# ' + draw(JUNK)]
    for name in draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=3, unique=True)):  # one profile per name
        flags = draw(FLAGS)
        header = name + (' flags=(%s)' % ', '.join(flags) if flags else '') + ' {'
        out += [header, '  include <abstractions/base>', '  /srv/** r,', '}']
    return nl.join(out) + nl


@settings(max_examples=300, deadline=None)
@given(profile_texts(), st.sampled_from(['enforce', 'complain', 'kill']))
def test_profile_edit_properties(text, mode):
    new = aa.set_mode(text, mode)
    assert aa.file_mode(new) == mode
    assert aa.set_mode(new, mode) == new
    old_lines, new_lines = _files.split_lines(text), _files.split_lines(new)
    assert len(old_lines) == len(new_lines)
    for a, b in zip(old_lines, new_lines):
        if a != b:
            assert a.rstrip().endswith('{') and b.rstrip().endswith('{')
            keep = [f for f in ('attach_disconnected', 'mediate_deleted') if f in a]
            assert all(f in b for f in keep)

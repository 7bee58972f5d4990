from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import stat

import pytest

from ansible_collections.confine.lsm.plugins.module_utils import _selinux_config as cfg

FEDORA = """
# This file controls the state of SELinux on the system.
# SELINUX= can take one of these three values:
#     enforcing - SELinux security policy is enforced.
#     permissive - SELinux prints warnings instead of enforcing.
#     disabled - No SELinux policy is loaded.
# See also:
# https://docs.fedoraproject.org/en-US/quick-docs/getting-started-with-selinux/#getting-started-with-selinux-selinux-states-and-modes
#
# NOTE: In earlier Fedora kernel builds, SELINUX=disabled would also
# fully disable SELinux during boot. If you need a system with SELinux
# fully disabled instead of SELinux running with no policy loaded, you
# need to pass selinux=0 to the kernel command line. You can use grubby
# to persistently set the bootloader to boot with selinux=0:
#
#    grubby --update-kernel ALL --args selinux=0
#
SELINUX=enforcing
# SELINUXTYPE= can take one of these three values:
#     targeted - Targeted processes are protected,
#     minimum - Modification of targeted policy. Only selected processes are protected.
#     mls - Multi Level Security protection.
SELINUXTYPE=targeted
"""

RHEL7 = """
# This file controls the state of SELinux on the system.
SELINUX=permissive
# SELINUXTYPE= can take one of three values:
SELINUXTYPE=targeted
SETLOCALDEFS=0
"""

DEBIAN = """# This file controls the state of SELinux on the system.
# SELINUX= can take one of these three values:
# enforcing - SELinux security policy is enforced.
# permissive - SELinux prints warnings instead of enforcing.
# disabled - No SELinux policy is loaded.
SELINUX=permissive
# SELINUXTYPE= can take one of these two values:
# default - equivalent to the old strict and targeted policies
# mls     - Multi-Level Security (for military and educational use)
# src     - Custom policy built from source
SELINUXTYPE=default

# SETLOCALDEFS= Check local definition changes
SETLOCALDEFS=0
"""


@pytest.mark.parametrize('text,state,policy', [
    (FEDORA, 'enforcing', 'targeted'), (RHEL7, 'permissive', 'targeted'), (DEBIAN, 'permissive', 'default')])
def test_get_real_world(text, state, policy):
    assert cfg.get(text, 'SELINUX') == state
    assert cfg.get(text, 'SELINUXTYPE') == policy
    assert cfg.read_mode(text) == state and cfg.policy_type(text) == policy
    with pytest.raises(ValueError):
        cfg.get(text, 'NOPE')


@pytest.mark.parametrize('text', [FEDORA, RHEL7, DEBIAN])
def test_change_keeps_every_other_byte(text):
    new = cfg.set_values(text, {'SELINUX': 'disabled', 'SELINUXTYPE': 'mls'})
    assert cfg.get(new, 'SELINUX') == 'disabled'
    assert cfg.get(new, 'SELINUXTYPE') == 'mls'
    old_lines, new_lines = text.splitlines(True), new.splitlines(True)
    assert len(old_lines) == len(new_lines)
    diff = [(a, b) for a, b in zip(old_lines, new_lines) if a != b]
    assert all(a.split('=')[0] == b.split('=')[0] for a, b in diff)
    assert len(diff) <= 2
    # and back again gives the original text, byte for byte
    state, policy = cfg.get(text, 'SELINUX'), cfg.get(text, 'SELINUXTYPE')
    assert cfg.set_values(new, {'SELINUX': state, 'SELINUXTYPE': policy}) == text


@pytest.mark.parametrize('text', [FEDORA, RHEL7, DEBIAN])
def test_no_change_is_identical(text):
    assert cfg.set_values(text, {'SELINUX': cfg.get(text, 'SELINUX'),
                                 'SELINUXTYPE': cfg.get(text, 'SELINUXTYPE')}) == text


def test_crlf_kept():
    text = FEDORA.replace('\n', '\r\n')
    assert cfg.read_mode(text) == 'enforcing' and cfg.read_policy(text) == 'targeted'
    new = cfg.set_values(text, {'SELINUX': 'permissive'})
    assert 'SELINUX=permissive\r\n' in new
    assert new.replace('SELINUX=permissive', 'SELINUX=enforcing') == text


def test_crlf_append_uses_crlf():
    new = cfg.set_values('# x\r\nSELINUX=enforcing\r\n', {'SELINUXTYPE': 'targeted'})
    assert new == '# x\r\nSELINUX=enforcing\r\nSELINUXTYPE=targeted\r\n'


def test_duplicates_the_first_mode_and_the_last_type_are_read_and_set():
    text = 'SELINUX=permissive\nSELINUXTYPE=targeted\nSELINUX=disabled\nSELINUXTYPE=mls\n'
    assert cfg.get(text, 'SELINUX') == 'permissive' and cfg.get(text, 'SELINUXTYPE') == 'mls'
    new = cfg.set_values(text, {'SELINUX': 'enforcing', 'SELINUXTYPE': 'default'})
    assert new == 'SELINUX=enforcing\nSELINUXTYPE=targeted\nSELINUX=disabled\nSELINUXTYPE=default\n'


def test_missing_key_appended_without_trailing_newline():
    assert cfg.read_mode('# only a comment') is None
    assert cfg.set_values('# only a comment', {'SELINUX': 'enforcing'}) == '# only a comment\nSELINUX=enforcing\n'


def test_spacing_after_the_tag_kept_and_prefix_value_edited_in_place():
    text = 'SELINUX=\t Permissive   # lab\nselinuxtype =x\n  SeLinuxType=  default \t\n'
    assert cfg.get(text, 'SELINUX') == 'permissive' and cfg.get(text, 'SELINUXTYPE') == 'default'
    new = cfg.set_values(text, {'SELINUX': 'enforcing', 'SELINUXTYPE': 'mls'})
    assert new == 'SELINUX=\t enforcing   # lab\nselinuxtype =x\n  SeLinuxType=  mls \t\n'
    # a case-only difference is not a change
    assert cfg.set_values(text, {'SELINUX': 'permissive', 'SELINUXTYPE': 'default'}) == text
    prefixed = 'SELINUX=Enforcingxyz\n'
    assert cfg.read_mode(prefixed) == 'enforcing'
    assert cfg.set_values(prefixed, {'SELINUX': 'disabled'}) == 'SELINUX=disabledxyz\n'


def test_commented_key_is_not_a_key():
    text = '#SELINUX=disabled\nSELINUX=enforcing\n'
    assert cfg.get(text, 'SELINUX') == 'enforcing'
    assert cfg.set_values(text, {'SELINUX': 'permissive'}) == '#SELINUX=disabled\nSELINUX=permissive\n'


def test_garbage_lines_survive():
    text = 'this is not = valid ??\n\x01weird\nSELINUX=enforcing\n[section]\n'
    new = cfg.set_values(text, {'SELINUX': 'permissive'})
    assert new == text.replace('SELINUX=enforcing', 'SELINUX=permissive')


def test_template():
    text = cfg.render_new('enforcing', 'default')
    assert cfg.get(text, 'SELINUX') == 'enforcing' and cfg.get(text, 'SELINUXTYPE') == 'default'
    with pytest.raises(cfg.ConfigError, match='not a policy type'):
        cfg.render_new('enforcing', 'default\nSELINUX=disabled')


# What libselinux 3.4 (Debian bookworm) read from each text, recorded with tests/oracle (mode None: its
# selinux_getenforcemode failed; policy None: no SELINUXTYPE line, so selinux_getpolicytype gave targeted).
LIBSELINUX_READS = [
    ('SELINUX=enforcing\n', 'enforcing', None),
    ('SELINUX= enforcing\n', 'enforcing', None),
    ('SELINUX=\tPermissivexyz\n', 'permissive', None),
    ('SELINUX=DISABLED\n', 'disabled', None),
    ('SELINUX="enforcing"\nSELINUX=disabled\n', 'disabled', None),
    ('SELINUX=permissive\nSELINUX=enforcing\n', 'permissive', None),
    (' SELINUX=permissive\nSELINUX=enforcing\n', 'enforcing', None),
    ('SELINUX=permissive\rSELINUX=enforcing\n', 'permissive', None),
    ('selinuxtype=  mls  \r\nSELINUXTYPE=x\x01\n', None, 'x'),
    ('SELINUXTYPE=\n', None, ''),
    ('SELINUXTYPE= \x0b\n', None, ''),
    ('SELINUXTYPE="targeted"\n', None, '"targeted"'),
    ('SELINUXTYPE=\x01\n', None, '\x01'),
    ('#\n SELINUXTYPE=a b\n', None, 'a b'),
    ('SELINUXTYPE=mls\n# SELINUXTYPE=targeted\nSELINUXTYPE =default\n', None, 'mls'),
    ('', None, None),
    ('x' * 4000 + '\nSELINUX=enforcing\n', 'enforcing', None),
    ('SELINUX=enforcing' + 'x' * 5000 + '\n', 'enforcing', None),
]


@pytest.mark.parametrize('text,mode,policy', LIBSELINUX_READS)
def test_reads_what_libselinux_reads(text, mode, policy):
    assert cfg.read_mode(text) == mode
    assert cfg.read_policy(text) == policy
    assert cfg.policy_type(text) == (cfg.DEFAULT_POLICY if policy is None else policy)


# Texts that libselinux reads one way and another reader (a person, an editor, Python's universal newlines, a
# larger page size) another: refused with the problem named. In brackets what libselinux 3.4 read.
REFUSED = [
    (' SELINUX=enforcing\n', 'looks like the SELINUX setting'),  # (none: boots permissive)
    ('SELINUX = enforcing\n', 'looks like the SELINUX setting'),  # (none)
    ('selinux=enforcing\n', 'looks like the SELINUX setting'),  # (none)
    ('SELINUX="enforcing"\n', 'looks like the SELINUX setting'),  # (none)
    ("SELINUX='permissive'\nSELINUXTYPE=targeted\n", 'looks like the SELINUX setting'),  # (none)
    ('SELINUX=enforced\n', 'looks like the SELINUX setting'),  # (none)
    ('SELINUX=\nenforcing\n', 'line 1'),  # (none)
    ('export SELINUX=enforcing\n', 'looks like the SELINUX setting'),  # (none)
    ('#\rSELINUX=enforcing\n', 'line break other than'),  # (none): a CR-only ending
    ('SELINUX=\x0benforcing\n', 'line break other than'),  # (enforcing)
    ('SELINUXTYPE=targeted\r# mls\n', 'line break other than'),  # ('targeted\r# mls')
    ('SELINUXTYPE=tar\u2028geted\nSELINUX=enforcing\n', 'line break other than'),
    ('SELINUX=enforcing\x00\n', 'NUL byte'),
    ('# \x00\nSELINUX=enforcing\n', 'NUL byte'),
    ('x' * 4095 + 'SELINUX=disabled\nSELINUX=enforcing\n', 'depends on the page size'),  # (disabled)
    ('SELINUX=' + ' ' * 5000 + 'enforcing\n', 'depends on the page size'),  # (none)
    ('y' * 16383 + 'SELINUX=disabled\nSELINUX=enforcing\n', 'depends on the page size'),  # (enforcing on 4 KiB)
]


@pytest.mark.parametrize('text,problem', REFUSED)
def test_refused_with_the_problem_named(text, problem):
    for call in (cfg.read_mode, cfg.read_policy, lambda t: cfg.set_values(t, {'SELINUX': 'enforcing'})):
        with pytest.raises(cfg.ConfigError, match=problem):
            call(text)


@pytest.mark.parametrize('value', ['targeted\nSELINUX=disabled', 'a b', 'x/y', '../mls', '', '.', '..', 'ok\x00',
                                   'tab\there', 'cr\r', '"mls"', "'mls'", 'del\x7f', 'nbsp\xa0x', 'back\\slash',
                                   'v\x0b', 'sur\udcff'])
def test_policy_values_refused(value):
    with pytest.raises(cfg.ConfigError) as err:
        cfg.set_values('SELINUX=enforcing\nSELINUXTYPE=targeted\n', {'SELINUXTYPE': value})
    assert repr(value) in str(err.value)


@pytest.mark.parametrize('value', ['Enforcing', 'enforcing\n', 'enforcing\nSELINUX=disabled', 'disabled ', '', None])
def test_mode_values_refused(value):
    with pytest.raises(cfg.ConfigError) as err:
        cfg.set_values('SELINUX=enforcing\n', {'SELINUX': value})
    assert repr(value) in str(err.value)


def test_unknown_key_is_a_programming_error():
    with pytest.raises(ValueError):
        cfg.set_values('SELINUX=enforcing\n', {'SETLOCALDEFS': '0'})


def test_an_empty_type_value_gets_the_new_value_before_other_white_space():
    new = cfg.set_values('SELINUX=enforcing\nSELINUXTYPE= \x0b\n', {'SELINUXTYPE': 'default'})
    assert new == 'SELINUX=enforcing\nSELINUXTYPE= default\x0b\n'
    assert cfg.read_policy(new) == 'default'


def test_bytes_that_are_not_utf8_survive_an_edit():
    text = b'# caf\xe9\nSELINUX=permissive\nSELINUXTYPE=targeted\n'.decode('utf-8', 'surrogateescape')
    new = cfg.set_values(text, {'SELINUX': 'enforcing'})
    assert new.encode('utf-8', 'surrogateescape') == b'# caf\xe9\nSELINUX=enforcing\nSELINUXTYPE=targeted\n'


def test_default_store(tmp_path):
    path = tmp_path / 'config'
    assert cfg.default_store(str(path)) == 'targeted'  # missing
    path.write_text('SELINUX=enforcing\n')
    assert cfg.default_store(str(path)) == 'targeted'  # no SELINUXTYPE: libselinux's default
    path.write_text('SELINUXTYPE=default\nselinuxtype=mls \n')
    assert cfg.default_store(str(path)) == 'mls'
    path.write_text('SELINUXTYPE="default"\n')
    with pytest.raises(cfg.ConfigError, match='not a policy type'):
        cfg.default_store(str(path))
    path.write_text('#\rSELINUXTYPE=mls\n')
    with pytest.raises(cfg.ConfigError, match='line break'):
        cfg.default_store(str(path))


# The store lookup (sebool_persist, selinux_fcontext, selinux_policy_module) needs only the policy type: a text
# refused for its MODE alone is read, one whose SELINUXTYPE setting readers see differently is refused.
MODE_ONLY_AMBIGUOUS = [
    ('SELINUX = enforcing\nSELINUXTYPE=default\n', 'default'),
    (' SELINUX=enforcing\nSELINUXTYPE=mls\n', 'mls'),
    ('SELINUX="enforcing"\n', 'targeted'),
    ('SELINUX=enforcing\x00\nSELINUXTYPE=default\n', 'default'),
    ('#\rSELINUX=enforcing\nSELINUXTYPE=default\n', 'default'),
    ('x' * 4095 + 'SELINUX=disabled\nSELINUX=enforcing\nSELINUXTYPE=default\n', 'default'),
    ('SELINUXTYPE=default\x00\n', 'default'),  # a trailing NUL: every reader strips it
]


@pytest.mark.parametrize('text,store', MODE_ONLY_AMBIGUOUS)
def test_default_store_reads_a_config_ambiguous_only_in_its_mode(tmp_path, text, store):
    path = tmp_path / 'config'
    path.write_bytes(text.encode('utf-8'))
    with pytest.raises(cfg.ConfigError):
        cfg.read_mode(text)  # the editor refuses it ...
    assert cfg.default_store(str(path)) == store  # ... the store lookup does not


@pytest.mark.parametrize('text,problem', [
    ('SELINUXTYPE=mls\r# default\n', 'line break'),
    ('#\rSELINUXTYPE=mls\n', 'line break'),
    ('SELINUXTYPE=ml\x00s\n', 'NUL'),
    ('SELINUXTYPE=tar\u2028geted\n', 'line break'),
    ('SELINUXTYPE="default"\n', 'not a policy type'),
    ('SELINUXTYPE=a b\n', 'not a policy type'),
])
def test_default_store_refuses_an_ambiguous_or_bad_policy_type(tmp_path, text, problem):
    path = tmp_path / 'config'
    path.write_bytes(text.encode('utf-8'))
    with pytest.raises(cfg.ConfigError, match=problem) as err:
        cfg.default_store(str(path))
    assert str(path) in str(err.value)


def test_default_store_refuses_a_fifo_without_opening_it(tmp_path):
    fifo = tmp_path / 'config'
    os.mkfifo(str(fifo))
    with pytest.raises(cfg.ConfigError, match='FIFO'):
        cfg.default_store(str(fifo))  # a blocking open would hang here
    assert stat.S_ISFIFO(os.lstat(str(fifo)).st_mode)


def test_default_store_follows_the_config_constant(tmp_path, monkeypatch):
    path = tmp_path / 'config'
    path.write_text('SELINUXTYPE=minimum\n')
    monkeypatch.setattr(cfg, 'CONFIG', str(path))
    assert cfg.default_store() == 'minimum'


@pytest.mark.parametrize('current,wanted,weaker', [
    ('enforcing', 'permissive', True), ('enforcing', 'disabled', True), ('permissive', 'disabled', True),
    ('permissive', 'enforcing', False), ('disabled', 'enforcing', False), ('enforcing', 'enforcing', False),
    (None, 'disabled', False), ('garbage', 'permissive', False)])
def test_weakening(current, wanted, weaker):
    assert cfg.is_weakening(current, wanted) is weaker

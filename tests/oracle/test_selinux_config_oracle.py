"""_selinux_config against the real reader: for every text, the module reads what the host's libselinux reads, or
raises its ConfigError; never both disagrees and returns. After set_values, libselinux reads what was asked.

The texts are hand-picked regressions (the bypasses found in review, the values recorded in the unit tests) and
texts that hypothesis builds from the pieces that matter to a reader: the tags in any case, blanks and tabs
before, around and after them, quotes, known, unknown and prefixed values, comments, CRLF and CR endings, other
line breaks, control characters, NUL bytes, duplicate keys and lines around the page size.
"""
import collections
import importlib.util
import os
import time

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from ansible_collections.confine.lsm.plugins.module_utils import _selinux_config as cfg

from conftest import libselinux_version

HERE = os.path.dirname(os.path.abspath(__file__))
UNIT = os.path.join(os.path.dirname(HERE), 'unit', 'plugins', 'module_utils', 'test_selinux_config.py')


def _unit_tables():
    spec = importlib.util.spec_from_file_location('confine_unit_selinux_config', UNIT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.LIBSELINUX_READS, module.REFUSED


LIBSELINUX_READS, REFUSED = _unit_tables()

# What libselinux reads from the texts the unit tests expect to be refused (the bracketed notes there): the module
# refuses them because some other reader, or the same libselinux on another page size, reads something else.
REFUSED_READS = {
    ' SELINUX=enforcing\n': (None, 'targeted'),
    'SELINUX = enforcing\n': (None, 'targeted'),
    'selinux=enforcing\n': (None, 'targeted'),
    'SELINUX="enforcing"\n': (None, 'targeted'),
    'SELINUX=enforced\n': (None, 'targeted'),
    'SELINUX=\nenforcing\n': (None, 'targeted'),
    '#\rSELINUX=enforcing\n': (None, 'targeted'),
    'SELINUX=\x0benforcing\n': ('enforcing', 'targeted'),
    'SELINUXTYPE=targeted\r# mls\n': (None, 'targeted\r# mls'),
    'x' * 4095 + 'SELINUX=disabled\nSELINUX=enforcing\n': ('disabled', 'targeted'),
    'SELINUX=' + ' ' * 5000 + 'enforcing\n': (None, 'targeted'),
    'y' * 16383 + 'SELINUX=disabled\nSELINUX=enforcing\n': ('enforcing', 'targeted'),  # on 4 KiB pages
}

POLICIES = ('targeted', 'default', 'mls', 'minimum')
# more examples for a longer search (the lint tier runs the default: a few seconds)
SCALE = int(os.environ.get('CONFINE_ORACLE_SCALE', '1'))


def module_view(text):
    """(mode, policy) as the module reads text, or None when it raises ConfigError."""
    try:
        return cfg.read_mode(text), cfg.policy_type(text)
    except cfg.ConfigError:
        return None


def test_the_oracle_is_libselinux(oracle):
    version = libselinux_version()
    print('libselinux %s' % version)
    assert oracle.calls >= 3  # the fixture's liveness checks ran
    assert version, 'the installed libselinux package is not known to dpkg or rpm'


@pytest.mark.parametrize('text,mode,policy', LIBSELINUX_READS)
def test_recorded_reads_are_what_libselinux_reads(oracle, text, mode, policy):
    assert oracle.read(text) == (mode, cfg.DEFAULT_POLICY if policy is None else policy)
    assert module_view(text) == oracle.read(text)


@pytest.mark.parametrize('text', sorted(REFUSED_READS))
def test_refused_texts_and_what_libselinux_reads_from_them(oracle, text):
    assert oracle.read(text) == REFUSED_READS[text]
    assert module_view(text) is None


@pytest.mark.parametrize('text,problem', REFUSED)
def test_every_refused_text_is_refused(oracle, text, problem):
    with pytest.raises(cfg.ConfigError, match=problem):
        cfg.read_mode(text)
    oracle.read(text)  # libselinux reads it without error


# ------------------------------------------------------------------ generated texts

TAGS = st.sampled_from(['SELINUX', 'SELINUX', 'SELINUXTYPE', 'SELINUXTYPE', 'selinux', 'Selinux', 'selinuxtype',
                        'SeLinuxType', 'SELINUX_TYPE', 'SELINUXTYPES', 'SETLOCALDEFS', 'REQUIRESEUSERS'])
BEFORE = st.sampled_from(['', '', '', ' ', '\t', '  \t', '#', '# ', '"', 'export ', '\v', '\f'])
EQUALS = st.sampled_from(['=', '=', '=', ' =', '= ', ' = ', '=\t', '==', ':', '=\v', '=\f', '=\r', '= \t '])
QUOTES = st.sampled_from(['', '', '', '"', "'"])
VALUES = st.one_of(
    st.sampled_from(['enforcing', 'permissive', 'disabled', 'Enforcing', 'PERMISSIVE', 'DisAbled', 'disabledx',
                     'enforcingpermissive', 'enforced', 'permissiv', '', 'targeted', 'mls', 'default', 'minimum',
                     'a b', 'x/y', '1', 'true']),
    st.text(alphabet='abcdefgnprstvEPD019_.-/ ', max_size=12))
AFTER = st.sampled_from(['', '', '', ' ', '\t', ' # note', '#x', '\x01', '\x7f', '\v', '\f', '\r', ' \r', '\x00',
                         '\u2028', '\x85', 'é', '\udcff'])
ENDINGS = st.sampled_from(['\n', '\n', '\n', '\n', '\r\n', '\r\n', '\r', ''])
OTHER = st.one_of(
    st.sampled_from(['', '#', '# SELINUX=disabled', '# comment', '   ', 'SETLOCALDEFS=0', '[x]', '=oops']),
    st.text(alphabet=st.characters(blacklist_categories=('Cs',), max_codepoint=0x2030), max_size=20))


@st.composite
def setting_lines(draw):
    return (draw(BEFORE) + draw(TAGS) + draw(EQUALS) + draw(QUOTES) + draw(VALUES) + draw(QUOTES) + draw(AFTER)
            + draw(ENDINGS))


@st.composite
def long_lines(draw):
    """A line near a multiple of 4095 bytes long, then what a piece boundary may turn into a line start."""
    size = draw(st.sampled_from([4094, 4095, 4096, 8190, 16383])) + draw(st.integers(-3, 3))
    filler = draw(st.sampled_from(['x', ' ', '#', 'SELINUX=']))
    return (filler * size)[:size] + draw(setting_lines())


@st.composite
def config_texts(draw):
    pieces = draw(st.lists(st.one_of(setting_lines(), setting_lines(), OTHER.map(lambda t: t + '\n'),
                                     st.sampled_from(['SELINUX=enforcing\n', 'SELINUX=permissive\n',
                                                      'SELINUX=disabled\n', 'SELINUXTYPE=default\n']),
                                     long_lines()), max_size=8))
    return ''.join(pieces)


def test_generated_texts_agree_or_are_refused(oracle):
    seen = collections.Counter()
    start = time.monotonic()

    @settings(max_examples=350 * SCALE, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(config_texts())
    def check(text):
        truth = oracle.read(text)
        mine = module_view(text)
        seen['texts'] += 1
        if mine is None:
            seen['refused'] += 1
            return
        assert mine == truth, (text, mine, truth)
        seen['agreed'] += 1
        seen['mode %s' % truth[0]] += 1

    check()
    print('%d texts in %.1f s: %s' % (seen['texts'], time.monotonic() - start, dict(seen)))
    # the texts test something: most are read, and every outcome of the mode appears
    assert seen['agreed'] >= seen['texts'] // 3, seen
    for mode in ('enforcing', 'permissive', 'disabled', None):
        assert seen['mode %s' % mode] > 0, seen


def test_after_an_edit_libselinux_reads_what_was_asked(oracle):
    seen = collections.Counter()

    @settings(max_examples=250 * SCALE, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(config_texts(), st.sampled_from(cfg.MODES), st.sampled_from(POLICIES))
    def check(text, state, policy):
        seen['texts'] += 1
        readable = module_view(text) is not None
        try:
            new = cfg.set_values(text, {'SELINUX': state, 'SELINUXTYPE': policy})
        except cfg.ConfigError:
            assert not readable, 'a text the module reads could not be edited: %r' % text
            seen['refused'] += 1
            return
        assert oracle.read(new) == (state, policy), (text, new)
        assert module_view(new) == (state, policy)
        seen['edited'] += 1

    check()
    print(dict(seen))
    assert seen['edited'] >= seen['texts'] // 3, seen


@pytest.mark.parametrize('text', [
    'SELINUX=Enforcingxyz\nSELINUXTYPE=targeted\n',
    ' SELINUX=permissive\nSELINUX=enforcing\n',
    'SELINUX=permissive\rSELINUX=enforcing\nselinuxtype = x\n  SeLinuxType=\tmls \x01\r\n',
    'SELINUXTYPE= \x0b\n',
    '# only a comment',
    '',
    'x' * 5000 + '\n' + 'SELINUX=disabled',
])
def test_hand_picked_edits(oracle, text):
    for state in cfg.MODES:
        for policy in POLICIES:
            new = cfg.set_values(text, {'SELINUX': state, 'SELINUXTYPE': policy}) if text.strip() else \
                cfg.render_new(state, policy)
            assert oracle.read(new) == (state, policy), new


# ------------------------------------------------------------------ the store lookup: the policy type alone

def store_view(text):
    """The policy type as default_store reads it, or None when it refuses (only policy-type ambiguity may)."""
    try:
        policy = cfg.read_policy_only(text)
    except cfg.ConfigError:
        return None
    return cfg.DEFAULT_POLICY if policy is None else policy


@pytest.mark.parametrize('text', sorted(REFUSED_READS))
def test_store_lookup_reads_texts_refused_only_for_their_mode(oracle, text):
    truth = oracle.read(text)[1]
    mine = store_view(text)
    assert mine in (None, truth), (text, mine, truth)
    if '\r' not in text and '\x0b' not in text:  # nothing here makes the SELINUXTYPE setting ambiguous
        assert mine == truth, (text, mine, truth)


def test_generated_texts_the_store_lookup_agrees_or_refuses(oracle):
    seen = collections.Counter()

    @settings(max_examples=300 * SCALE, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(config_texts())
    def check(text):
        truth = oracle.read(text)[1]
        mine = store_view(text)
        seen['texts'] += 1
        if mine is None:
            seen['refused'] += 1
            return
        assert mine == truth, (text, mine, truth)
        seen['agreed'] += 1
        if module_view(text) is None:
            seen['read although the whole text is refused'] += 1

    check()
    print(dict(seen))
    assert seen['agreed'] >= seen['texts'] // 2, seen
    assert seen['read although the whole text is refused'] > 0, seen  # the lookup is less strict than the editor

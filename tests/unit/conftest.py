"""Make the repository importable as ansible_collections.confine.lsm, as ansible does with an installed copy."""
import os
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_TREE = tempfile.mkdtemp(prefix='confine-unit-')
os.makedirs(os.path.join(_TREE, 'ansible_collections', 'confine'))
os.symlink(ROOT, os.path.join(_TREE, 'ansible_collections', 'confine', 'lsm'))
sys.path.insert(0, _TREE)
if 'ansible_collections' in sys.modules:  # the ansible package's namespace was imported already
    sys.modules['ansible_collections'].__path__.insert(0, os.path.join(_TREE, 'ansible_collections'))

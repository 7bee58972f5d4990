"""Stand-in for ansible-test's pip bootstrap script, which it downloads from a host this workplace cannot reach.

ansible-test runs it inside each fresh sanity virtualenv with pip options and package specs (pip==X ...) as
arguments. It bootstraps pip from the interpreter's bundled wheel (ensurepip), then installs the requested
packages from the configured package index (PyPI), which is what the real script does.
"""
import ensurepip
import os
import ssl
import subprocess
import sys

ensurepip.bootstrap(upgrade=True)
args = [a for a in sys.argv[1:] if a not in ('--no-setuptools', '--no-wheel')]
# The bundled pip trusts only certifi's CAs and ansible-test runs pip isolated from pip.conf; give it the
# system's CA bundle (newer pip uses the system store by itself).
paths = ssl.get_default_verify_paths()
for cafile in (paths.cafile, paths.openssl_cafile, '/etc/ssl/certs/ca-certificates.crt'):
    if cafile and os.path.exists(cafile):
        args = ['--cert', cafile] + args
        break
sys.exit(subprocess.call([sys.executable, '-m', 'pip', 'install'] + args))

"""A small DevTools-protocol client for Debian's headless chromium, over --remote-debugging-pipe (stdlib only: the
browser reads commands on fd 3 and writes replies and events on fd 4, each a JSON text ended by a NUL byte).

Used to look at the fleet report as a person would: what text is shown, where, in which colour, and which requests
the page makes."""
import base64
import json
import os
import shutil
import subprocess
import tempfile
import time


def find_chromium():
    for name in ('chromium', 'chromium-browser', 'google-chrome'):
        path = shutil.which(name)
        if path:
            return path
    return None


class Browser(object):
    def __init__(self, width=1280, height=900, timeout=60):
        exe = find_chromium()
        if not exe:
            raise RuntimeError('no chromium on PATH (scripts/host-deps.sh installs Debian\'s chromium)')
        self.timeout = timeout
        self.profile = tempfile.mkdtemp(prefix='confine-chromium-')
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()

        def child_fds():
            # via spare descriptors, so that moving one end onto 3 or 4 cannot clobber the other
            os.dup2(to_browser_r, 1000)
            os.dup2(from_browser_w, 1001)
            os.dup2(1000, 3)
            os.dup2(1001, 4)

        argv = [exe, '--headless', '--remote-debugging-pipe', '--no-first-run', '--no-default-browser-check',
                '--disable-gpu', '--disable-extensions', '--disable-background-networking', '--mute-audio',
                '--user-data-dir=' + self.profile, '--window-size=%d,%d' % (width, height), 'about:blank']
        if os.geteuid() == 0:
            argv.insert(1, '--no-sandbox')  # chromium refuses to run as root with its sandbox; CI runs as root
        self.stderr = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self.stderr,
                                     preexec_fn=child_fds, pass_fds=(3, 4))
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._buf = b''
        self._next_id = 0
        self.events = []
        target = self.call('Target.createTarget', url='about:blank')['targetId']
        self.session = self.call('Target.attachToTarget', targetId=target, flatten=True)['sessionId']

    def _read_message(self, deadline):
        while b'\0' not in self._buf:
            if time.time() > deadline:
                raise RuntimeError('chromium did not answer in %d s' % self.timeout)
            chunk = os.read(self._from_browser, 65536)
            if not chunk:
                self.stderr.seek(0)
                raise RuntimeError('chromium closed the pipe: %s' % self.stderr.read()[-2000:].decode('utf-8', 'replace'))
            self._buf += chunk
        raw, self._buf = self._buf.split(b'\0', 1)
        return json.loads(raw.decode('utf-8'))

    def call(self, method, session=None, **params):
        self._next_id += 1
        msg = {'id': self._next_id, 'method': method, 'params': params}
        if session:
            msg['sessionId'] = session
        os.write(self._to_browser, json.dumps(msg).encode('utf-8') + b'\0')
        deadline = time.time() + self.timeout
        while True:
            reply = self._read_message(deadline)
            if reply.get('id') == self._next_id:
                if 'error' in reply:
                    raise RuntimeError('%s: %s' % (method, reply['error']))
                return reply.get('result', {})
            self.events.append(reply)

    def page(self, method, **params):
        return self.call(method, session=self.session, **params)

    def open(self, url):
        """Load url and wait for its load event; returns the URLs of every request the page made."""
        self.page('Network.enable')
        self.page('Page.enable')
        self.events = []
        self.page('Page.navigate', url=url)
        deadline = time.time() + self.timeout
        while not any(e.get('method') == 'Page.loadEventFired' for e in self.events):
            self.events.append(self._read_message(deadline))
        return [e['params']['request']['url'] for e in self.events if e.get('method') == 'Network.requestWillBeSent']

    def evaluate(self, expression):
        reply = self.page('Runtime.evaluate', expression=expression, returnByValue=True)
        if 'exceptionDetails' in reply:
            raise RuntimeError('%s: %s' % (expression, reply['exceptionDetails']))
        return reply['result'].get('value')

    def screenshot(self, path):
        data = self.page('Page.captureScreenshot', format='png', captureBeyondViewport=True)['data']
        with open(path, 'wb') as f:
            f.write(base64.b64decode(data))

    def close(self):
        try:
            self.call('Browser.close')
        except RuntimeError:
            pass
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._to_browser)
        os.close(self._from_browser)
        self.stderr.close()
        shutil.rmtree(self.profile, ignore_errors=True)

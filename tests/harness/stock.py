"""Asterisk on its distribution's stock configuration plus only the README's deployment steps.

The stock configuration is the packaged ``/etc/asterisk`` (Debian's asterisk-config: autoload, the
demo dialplan, Debian's music class pointing at a folder no package made), copied into a run
directory. What the harness changes beyond the README's steps is only what lets it run beside other
tests: the directories of ``asterisk.conf`` (one run directory each) and the AMI port of the stock
``manager.conf``; the README's snippets themselves are applied with this run's ports and passwords
(:class:`ari_app.deploy.snippets.Site`).
"""

from __future__ import annotations

import re
import shutil
import socket
from dataclasses import dataclass
from pathlib import Path

from ari_app.deploy.snippets import DATA_COPIES, Site, additions
from ari_app.sandbox.asterisk import AsteriskSandbox
from ari_app.sandbox.confgen import CALL_SPOOL
from tests.harness.services import REPO


@dataclass
class StockAsterisk(AsteriskSandbox):
    prepared: bool = False

    @property
    def site(self) -> Site:
        return Site(sip_bind=f"127.0.0.1:{self.sip_port}", carrier="127.0.0.1", http_port=self.http_port,
                    agi_url=f"agi://127.0.0.1:{self.agi_port}", ari_app=self.ari_app,
                    ari_password=self.ari_password, ami_secret=self.ami_password,
                    call_spool=str(self.inner_base / CALL_SPOOL))

    @property
    def etc(self) -> Path:
        return self.run_dir / "etc"

    @property
    def data(self) -> Path:
        """Asterisk's data directory (Debian's /usr/share/asterisk), as this process sees it."""
        return self.run_dir / "data"

    def stock_etc(self) -> Path:
        return (self.chroot or Path("/")) / "etc" / "asterisk"

    def render(self) -> None:
        """Stock configuration + the README's snippets (once: `start` calls this again)."""
        if self.prepared:
            return
        shutil.rmtree(self.run_dir, ignore_errors=True)
        for sub in ("varlib", "spool", "run", "log", "cache", "data/sounds"):
            (self.run_dir / sub).mkdir(parents=True, exist_ok=True)
        shutil.copytree(self.stock_etc(), self.etc, symlinks=True)
        self._relocate()
        for name, text in additions(self.site).items():  # the README's configuration steps
            path = self.etc / name
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("a", encoding="utf-8") as out:
                out.write("\n" + text)
        for target in ("rest-api", "documentation", "sounds/en"):  # what the package installs there
            (self.data / target).symlink_to(f"/usr/share/asterisk/{target}")
        if self.chroot is not None:
            hosts = self.chroot / "etc" / "hosts"
            hosts.write_text(f"127.0.0.1 localhost {socket.gethostname()}\n::1 localhost\n", encoding="utf-8")
        self.prepared = True

    def _relocate(self) -> None:
        """This run's directories in asterisk.conf; this run's AMI port in the stock manager.conf."""
        b = self.inner_base
        dirs = "\n".join(f"{key} => {b}/{sub}" for key, sub in (
            ("astcachedir", "cache"), ("astetcdir", "etc"), ("astvarlibdir", "varlib"), ("astdbdir", "varlib"),
            ("astkeydir", "varlib"), ("astdatadir", "data"), ("astagidir", "data/agi-bin"),
            ("astspooldir", "spool"), ("astrundir", "run"), ("astlogdir", "log")))
        conf = self.etc / "asterisk.conf"
        text = conf.read_text(encoding="utf-8")
        text, found = re.subn(r"^\[directories\].*?(?=^\[options\])",
                              f"[directories]\n{dirs}\nastmoddir => {self._module_dir()}\nastsbindir => /usr/sbin\n\n",
                              text, count=1, flags=re.MULTILINE | re.DOTALL)
        assert found == 1, "no [directories] section before [options] in the stock asterisk.conf"
        conf.write_text(text, encoding="utf-8")
        manager = self.etc / "manager.conf"
        text, found = re.subn(r"^port\s*=\s*5038\s*$", f"port = {self.ami_port}", manager.read_text(encoding="utf-8"),
                              count=1, flags=re.MULTILINE)
        assert found == 1, "no `port = 5038` in the stock manager.conf"
        manager.write_text(text, encoding="utf-8")

    def copy_sounds(self) -> None:
        """The README's prompts-and-music step (``copy_commands``), into this run's data directory."""
        for source, dest in DATA_COPIES:
            target = self.data / dest
            target.mkdir(parents=True, exist_ok=True)
            for wav in sorted((REPO / source).glob("*.wav")):
                shutil.copy(wav, target / wav.name)

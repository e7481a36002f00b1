import subprocess
import sys


def test_cli_demo_discovers_and_runs():
    out = subprocess.run(
        [sys.executable, "-m", "arena", "demo"], capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr
    assert "-> open_support_ticket" in out.stdout
    assert "-> account_balance" in out.stdout

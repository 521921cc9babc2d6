"""A missing tool fails the suite with a message saying how to install it (never a skip)."""

import pytest

import tools


def test_missing_terraform_fails_with_install_hint(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(pytest.fail.Exception, match="install Terraform"):
        tools.terraform_bin()


def test_missing_provider_mirror_fails_with_hint(monkeypatch, tmp_path):
    monkeypatch.setenv("TF_PLUGIN_MIRROR", str(tmp_path / "absent"))
    with pytest.raises(pytest.fail.Exception, match="providers mirror"):
        tools.plugin_dir()


def test_missing_checkov_fails_with_install_hint(monkeypatch, tmp_path):
    monkeypatch.setenv("CHECKOV", str(tmp_path / "absent"))
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.setattr(tools, "REPO", tmp_path)
    with pytest.raises(pytest.fail.Exception, match="pip install checkov"):
        tools.checkov_bin()

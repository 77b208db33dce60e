"""Settings: a TOML file, then IMGPROXY_<SECTION>_<KEY> environment overrides, validated."""

from __future__ import annotations

import dataclasses
import json
import os
import tomllib
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from imgproxy.config import Settings
from imgproxy.errors import ConfigError
from imgproxy.params.colors import parse_color

ENV_PREFIX = "IMGPROXY_"
CONFIG_ENV = "IMGPROXY_CONFIG"


def load_settings(
    path: str | Path | None = None,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
) -> Settings:
    """Read the TOML file (or the built-in defaults), apply env overrides, then `overrides`
    (command-line flags, by section and key), validate."""
    environ = os.environ if environ is None else environ
    path = path or environ.get(CONFIG_ENV) or None
    raw = _read_toml(Path(path)) if path else {}
    _apply_env(raw, environ)
    for section, values in (overrides or {}).items():
        raw.setdefault(section, {}).update(values)
    return build_settings(raw)


def build_settings(raw: Mapping[str, Any]) -> Settings:
    sections = {f.name: f for f in dataclasses.fields(Settings)}
    for name in raw:
        if name not in sections:
            raise ConfigError(f"[{name}]: unknown section")
    values: dict[str, Any] = {}
    for name, section_field in sections.items():
        given = raw.get(name, {})
        if not isinstance(given, Mapping):
            raise ConfigError(f"[{name}]: must be a table")
        if name == "colors":
            values[name] = {str(k).lower(): _as_str(f"[colors] {k}", v) for k, v in given.items()}
        else:
            values[name] = _build_section(name, section_field.default_factory, given)
    settings = Settings(**values)
    _validate(settings)
    return settings


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError as exc:
        raise ConfigError(f"config file {path}: not found") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path}: {exc}") from exc


def _apply_env(raw: dict[str, Any], environ: Mapping[str, str]) -> None:
    sections = {f.name for f in dataclasses.fields(Settings)}
    for name, value in environ.items():
        if not name.startswith(ENV_PREFIX) or name == CONFIG_ENV:
            continue
        section, _, key = name[len(ENV_PREFIX) :].lower().partition("_")
        if section not in sections or not key:
            raise ConfigError(f"{name}: no such setting (IMGPROXY_<SECTION>_<KEY>)")
        raw.setdefault(section, {})[key] = value


def _build_section(section: str, factory: Any, given: Mapping[str, Any]) -> Any:
    cls = factory
    hints = typing.get_type_hints(cls)
    known = {f.name: f for f in dataclasses.fields(cls)}
    values: dict[str, Any] = {}
    for key, value in given.items():
        if key not in known:
            raise ConfigError(f"[{section}] {key}: unknown key")
        name = f"[{section}] {key}"
        values[key] = _check_field(name, known[key], _coerce(name, hints[key], value))
    return cls(**values)


def _coerce(name: str, hint: Any, value: Any) -> Any:
    origin = typing.get_origin(hint)
    if hint is bool:
        return _as_bool(name, value)
    if hint is int:
        return _as_number(name, value, int)
    if hint is float:
        return float(_as_number(name, value, float))
    if hint is str:
        return _as_str(name, value)
    if origin is tuple:
        return tuple(_as_str(name, item) for item in _as_list(name, value))
    if origin in (Mapping, dict):
        table = _as_table(name, value)
        return {str(k): _as_str(f"{name}.{k}", v) for k, v in table.items()}
    raise ConfigError(f"{name}: unsupported setting type {hint}")


def _as_bool(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "1", "yes", "on"):
        return True
    if isinstance(value, str) and value.strip().lower() in ("false", "0", "no", "off"):
        return False
    raise ConfigError(f"{name}: must be true or false, got {value!r}")


def _as_number(name: str, value: Any, kind: type) -> int | float:
    if isinstance(value, bool):
        raise ConfigError(f"{name}: must be a number, got {value!r}")
    if isinstance(value, int | float) and (kind is float or isinstance(value, int)):
        return value
    if isinstance(value, str):
        try:
            return kind(value.strip())
        except ValueError:
            pass
    noun = "an integer" if kind is int else "a number"
    raise ConfigError(f"{name}: must be {noun}, got {value!r}")


def _as_str(name: str, value: Any) -> str:
    if isinstance(value, str):
        return value
    raise ConfigError(f"{name}: must be a string, got {value!r}")


def _as_list(name: str, value: Any) -> list[Any]:
    if isinstance(value, list):
        return value
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            return _as_list(name, _json(name, text))
        return [item.strip() for item in text.split(",") if item.strip()]
    raise ConfigError(f"{name}: must be a list, got {value!r}")


def _as_table(name: str, value: Any) -> Mapping[str, Any]:
    if isinstance(value, str):
        value = _json(name, value)
    if isinstance(value, Mapping):
        return value
    raise ConfigError(f"{name}: must be a table, got {value!r}")


def _json(name: str, text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise ConfigError(f"{name}: not valid JSON ({exc})") from exc


def _check_field(name: str, spec: dataclasses.Field[Any], value: Any) -> Any:
    lo, hi = spec.metadata.get("min"), spec.metadata.get("max")
    if lo is not None and value < lo:
        raise ConfigError(f"{name}: must be at least {lo}, got {value!r}")
    if hi is not None and value > hi:
        raise ConfigError(f"{name}: must be at most {hi}, got {value!r}")
    choices = spec.metadata.get("choices")
    if choices and value not in choices:
        raise ConfigError(f"{name}: must be one of {', '.join(choices)}, got {value!r}")
    return value


def _validate(settings: Settings) -> None:
    if settings.origin.kind == "http" and not settings.origin.url.startswith(
        ("http://", "https://")
    ):
        raise ConfigError('[origin] url: an http(s) URL is required when kind = "http"')
    if settings.uploads.enabled and settings.origin.kind == "http":
        raise ConfigError('[uploads] enabled: an "http" origin cannot store uploads')
    if settings.admin.enabled and not settings.admin.token:
        raise ConfigError("[admin] token: required when the admin API is enabled")
    if settings.origin.kind == "s3" and not settings.origin.bucket:
        raise ConfigError('[origin] bucket: required when kind = "s3"')
    if settings.playground.enabled and settings.security.signing_keys:
        # The page builds its URLs in the browser, which must never hold a signing key.
        raise ConfigError("[playground] enabled: unavailable when [security] signing_keys is set")
    for name, text in settings.colors.items():
        try:
            parse_color(text, {})
        except ValueError as exc:
            raise ConfigError(f"[colors] {name}: {exc}") from exc

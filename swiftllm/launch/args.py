"""Command-line flags made from EngineConfig's fields, so `swiftctl` states no default or help text of its own.

A field `max_num_batched_tokens` becomes `--max-num-batched-tokens` (or the field's own `flag`), with the
field's type, default, choices and help (and its `aliases`, other spellings); a bool field becomes
`--name / --no-name`."""

import argparse
import dataclasses
import typing

from swiftllm.config import EngineConfig

_FIELDS = {config_field.name: config_field for config_field in dataclasses.fields(EngineConfig)}

# what only the server takes (`swiftctl launch` takes these and ENGINE_OPTIONS): fields marked `server`
SERVER_OPTIONS = tuple(name for name in _FIELDS if _FIELDS[name].metadata.get("server"))
# every other field: what an in-process LLM and a served engine share (`swiftctl generate` takes these)
ENGINE_OPTIONS = tuple(name for name in _FIELDS if name not in SERVER_OPTIONS)
# what a worker process is started with (`swiftctl worker`), fields marked `worker`; the launcher passes
# them on
WORKER_OPTIONS = tuple(name for name in _FIELDS if _FIELDS[name].metadata.get("worker"))


class ShowDefaults(argparse.ArgumentDefaultsHelpFormatter):
    """`--help` appends each flag's default, except None, whose meaning the help text states."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        # the API key's default is $SWIFTLLM_API_KEY's value: a secret, never printed (it was, session 67)
        hidden = action.default is None or action.dest == "api_key"
        return action.help if hidden else super()._get_help_string(action)


def flag_of(name: str) -> str:
    return _FIELDS[name].metadata.get("flag", "--" + name.replace("_", "-"))


def add_config_flags(parser: argparse.ArgumentParser, names: tuple[str, ...]) -> None:
    """One flag per named EngineConfig field; its value lands in `args.<field name>`."""
    for name in names:
        metadata = _FIELDS[name].metadata
        # the type a flag's text converts to: `int` for both `int` and `int | None`
        hint = _FIELDS[name].type
        value_type = next((arg for arg in typing.get_args(hint) if arg is not type(None)), hint)
        how_parsed: dict[str, typing.Any] = {"type": value_type}
        if value_type is bool:
            how_parsed = {"action": argparse.BooleanOptionalAction}
        # the parser's formatter (ShowDefaults) appends the default
        parser.add_argument(
            flag_of(name),
            *metadata.get("aliases", ()),
            dest=name,
            default=_FIELDS[name].default,
            choices=metadata.get("choices"),
            help=metadata["help"],
            **how_parsed,
        )


def options_from_args(args: argparse.Namespace, names: tuple[str, ...]) -> dict[str, typing.Any]:
    """The parsed values of the named flags, as keyword arguments (of EngineConfig, or the fields named)."""
    return {name: getattr(args, name) for name in names}


def flags_from_config(config: EngineConfig, names: tuple[str, ...]) -> list[str]:
    """The command line that gives these fields their values in `config` (unset ones left out)."""
    flags: list[str] = []
    for name in names:
        value = getattr(config, name)
        if value is True:
            flags.append(flag_of(name))
        elif value is False:
            flags.append(flag_of(name).replace("--", "--no-", 1))
        elif value is not None:
            flags += [flag_of(name), str(value)]
    return flags

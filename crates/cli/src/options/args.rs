//! `clap::Args` for [`CommonOptions`], written by hand, and the argument
//! builders `run/wasi.rs` uses for its own.
//!
//! clap's derive builds every argument of a struct in one function, whose
//! stack frame in a debug build holds each builder temporary: some 10 KiB
//! per argument. `hayate` must start on a 128 KiB main stack (`ulimit -s
//! 128`, see `tests/hostile.rs`), and the derived frames of the nested
//! `Cli`, `Command` and `RunArgs` already take most of it; so here each
//! argument is built in a function of its own, whose frame is gone before
//! the next one is built.

use clap::builder::TypedValueParser;
use clap::{Arg, ArgAction, ArgMatches, Command, FromArgMatches};

use super::keys::Group;
use super::{CODEGEN, CommonOptions, OPTIMIZE, WASM};

/// A `-W`-style flag: short and long spelling, comma-separated
/// `KEY[=VAL]` lists, repeatable; `help` as a value prints the group's
/// keys and exits.
#[inline(never)]
pub fn list_arg(group: &'static Group) -> Arg {
    let short = group.flag.chars().nth(1).expect("a flag like -W");
    Arg::new(group.long)
        .short(short)
        .long(group.long)
        .value_name("KEY[=VAL[,..]]")
        .action(ArgAction::Append)
        .value_parser(help_parser(group))
        .help(group.summary)
}

/// A repeatable `--long VALUE`.
#[inline(never)]
pub fn repeated_arg(long: &'static str, value_name: &'static str, help: &'static str) -> Arg {
    Arg::new(long)
        .long(long)
        .value_name(value_name)
        .action(ArgAction::Append)
        .help(help)
}

/// An optional `--long VALUE`.
#[inline(never)]
pub fn optional_arg(long: &'static str, value_name: &'static str, help: &'static str) -> Arg {
    Arg::new(long)
        .long(long)
        .value_name(value_name)
        .action(ArgAction::Set)
        .help(help)
}

/// Every value given to the argument `id`.
pub fn strings(matches: &ArgMatches, id: &str) -> Vec<String> {
    matches
        .get_many::<String>(id)
        .map(|values| values.cloned().collect())
        .unwrap_or_default()
}

/// A value parser that prints the group's keys and exits when the value is
/// `help` (as Wasmtime does, even without a module), and keeps any other
/// value for [`CommonOptions::parse`].
fn help_parser(group: &'static Group) -> impl TypedValueParser<Value = String> {
    move |value: &str| -> Result<String, std::convert::Infallible> {
        if value == "help" || value == "help-long" {
            print!("{}", group.help());
            std::process::exit(0);
        }
        Ok(value.to_string())
    }
}

impl FromArgMatches for CommonOptions {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        let mut options = CommonOptions::default();
        options.update_from_arg_matches(matches)?;
        Ok(options)
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        self.wasm = strings(matches, WASM.long);
        self.optimize = strings(matches, OPTIMIZE.long);
        self.codegen = strings(matches, CODEGEN.long);
        self.profile = matches.get_one::<String>("profile").cloned();
        Ok(())
    }
}

impl CommonOptions {
    /// The flags these options were parsed from, to give another `hayate`
    /// process the same engine settings.
    pub fn to_args(&self) -> Vec<String> {
        let mut args = Vec::new();
        for (group, values) in [
            (&WASM, &self.wasm),
            (&OPTIMIZE, &self.optimize),
            (&CODEGEN, &self.codegen),
        ] {
            for value in values {
                args.push(format!("--{}", group.long));
                args.push(value.clone());
            }
        }
        if let Some(profile) = &self.profile {
            args.extend(["--profile".to_string(), profile.clone()]);
        }
        args
    }
}

impl clap::Args for CommonOptions {
    fn augment_args(mut cmd: Command) -> Command {
        for group in [&WASM, &OPTIMIZE, &CODEGEN] {
            cmd = cmd.arg(list_arg(group));
        }
        cmd.arg(optional_arg(
            "profile",
            "STRATEGY",
            "Make compiled code visible to a profiler: `perfmap` (writes /tmp/perf-PID.map \
             for `perf`); Wasmtime's `jitdump`, `vtune` and `guest` are not implemented",
        ))
    }

    fn augment_args_for_update(cmd: Command) -> Command {
        Self::augment_args(cmd)
    }
}

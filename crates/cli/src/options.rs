//! Options shared by the commands that compile and run modules, spelled as
//! Wasmtime spells them: `-W KEY=VAL` for WebAssembly execution limits and
//! `-C KEY=VAL` for code generation. Parsing is separate from applying so the
//! errors name the offending flag.

use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Args;
use hayate::{Config, Engine, Store, StoreLimits, StoreLimitsBuilder};

/// `-W` and `-C` flags.
#[derive(Args, Debug, Default, Clone)]
pub struct CommonOptions {
    /// WebAssembly limits: fuel=N, timeout=DURATION (e.g. 500ms, 2s, 1m),
    /// max-memory-size=BYTES, max-table-elements=N, max-instances=N,
    /// max-wasm-stack=BYTES.
    #[arg(short = 'W', value_name = "KEY=VAL", action = clap::ArgAction::Append)]
    wasm: Vec<String>,
    /// Code generation: cache=y|n, parallel-compilation=y|n, opt-level=0|2.
    #[arg(short = 'C', value_name = "KEY=VAL", action = clap::ArgAction::Append)]
    codegen: Vec<String>,
}

/// The parsed options.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Options {
    /// Fuel the guest may consume (`-W fuel=N`).
    pub fuel: Option<u64>,
    /// Wall-clock limit, enforced with epochs (`-W timeout=DURATION`).
    pub timeout: Option<Duration>,
    /// Most bytes of any one linear memory.
    pub max_memory_size: Option<usize>,
    /// Most elements of any one table.
    pub max_table_elements: Option<u64>,
    /// Most instances.
    pub max_instances: Option<usize>,
    /// Wasm stack limit in bytes.
    pub max_wasm_stack: Option<usize>,
    /// Whether to use the compile cache (`-C cache=n` turns it off).
    pub cache: bool,
    /// Whether to compile on all cores.
    pub parallel_compilation: bool,
    /// Whether to optimise.
    pub optimize: bool,
}

impl CommonOptions {
    /// Parses every `-W` and `-C` flag.
    pub fn parse(&self) -> Result<Options> {
        let mut o = Options {
            cache: true,
            parallel_compilation: true,
            optimize: true,
            ..Default::default()
        };
        for flag in &self.wasm {
            let (key, value) = split(flag, "-W")?;
            let ctx = || format!("invalid value in `-W {flag}`");
            match key {
                "fuel" => o.fuel = Some(value.parse().with_context(ctx)?),
                "timeout" => o.timeout = Some(parse_duration(value).with_context(ctx)?),
                "max-memory-size" => o.max_memory_size = Some(parse_size(value).with_context(ctx)?),
                "max-table-elements" => {
                    o.max_table_elements = Some(value.parse().with_context(ctx)?)
                }
                "max-instances" => o.max_instances = Some(value.parse().with_context(ctx)?),
                "max-wasm-stack" => o.max_wasm_stack = Some(parse_size(value).with_context(ctx)?),
                _ => bail!(
                    "unknown option `-W {key}` (known: fuel, timeout, max-memory-size, \
                     max-table-elements, max-instances, max-wasm-stack)"
                ),
            }
        }
        for flag in &self.codegen {
            let (key, value) = split(flag, "-C")?;
            let ctx = || format!("invalid value in `-C {flag}`");
            match key {
                "cache" => o.cache = parse_bool(value).with_context(ctx)?,
                "parallel-compilation" => {
                    o.parallel_compilation = parse_bool(value).with_context(ctx)?
                }
                "opt-level" => {
                    o.optimize = match value {
                        "0" => false,
                        "1" | "2" | "s" => true,
                        _ => bail!("{}: expected 0, 1, 2 or s", ctx()),
                    }
                }
                _ => bail!(
                    "unknown option `-C {key}` (known: cache, parallel-compilation, opt-level)"
                ),
            }
        }
        Ok(o)
    }
}

impl Options {
    /// Applies the engine-level settings.
    pub fn configure(&self, config: &mut Config) {
        config.consume_fuel(self.fuel.is_some());
        config.epoch_interruption(self.timeout.is_some());
        config.parallel_compilation(self.parallel_compilation);
        config.optimize(self.optimize);
        if let Some(stack) = self.max_wasm_stack {
            config.max_wasm_stack(stack);
        }
        config.cache_dir(if self.cache {
            Config::default_cache_dir()
        } else {
            None
        });
    }

    /// The store limits the flags ask for.
    pub fn store_limits(&self) -> StoreLimits {
        let mut b = StoreLimitsBuilder::new();
        if let Some(bytes) = self.max_memory_size {
            b = b.memory_size(bytes);
        }
        if let Some(n) = self.max_table_elements {
            b = b.table_elements(n);
        }
        if let Some(n) = self.max_instances {
            b = b.instances(n);
        }
        b.build()
    }

    /// Applies the store-level settings: fuel, limiter, and a timeout
    /// thread that ends the epoch once the time is up.
    pub fn configure_store<T: 'static>(
        &self,
        engine: &Engine,
        store: &mut Store<T>,
        limits: fn(&mut T) -> &mut StoreLimits,
    ) -> Result<()> {
        if let Some(fuel) = self.fuel {
            store.set_fuel(fuel)?;
        }
        store.limiter(move |data| limits(data));
        if let Some(timeout) = self.timeout {
            store.set_epoch_deadline(1);
            let engine = engine.clone();
            std::thread::spawn(move || {
                std::thread::sleep(timeout);
                engine.increment_epoch();
            });
        }
        Ok(())
    }
}

fn split<'a>(flag: &'a str, which: &str) -> Result<(&'a str, &'a str)> {
    match flag.split_once('=') {
        Some((k, v)) => Ok((k.trim(), v.trim())),
        None => bail!("`{which} {flag}` needs the form KEY=VALUE"),
    }
}

fn parse_bool(v: &str) -> Result<bool> {
    match v {
        "y" | "yes" | "true" | "1" | "" => Ok(true),
        "n" | "no" | "false" | "0" => Ok(false),
        _ => bail!("expected y or n"),
    }
}

/// `10`, `10s`, `500ms`, `2m`, `1h`, `100us`, `5ns` (a bare number is seconds).
fn parse_duration(v: &str) -> Result<Duration> {
    let split = v
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(v.len());
    let (num, unit) = v.split_at(split);
    let n: f64 = num
        .parse()
        .context("expected a number with an optional unit")?;
    let secs = match unit {
        "" | "s" => n,
        "ms" => n / 1e3,
        "us" => n / 1e6,
        "ns" => n / 1e9,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => bail!("unknown unit `{unit}` (use ns, us, ms, s, m or h)"),
    };
    Duration::try_from_secs_f64(secs).context("duration out of range")
}

/// `65536`, `64Ki`, `64K`, `10Mi`, `1G`, ... (binary multiples).
fn parse_size(v: &str) -> Result<usize> {
    let split = v.find(|c: char| !c.is_ascii_digit()).unwrap_or(v.len());
    let (num, unit) = v.split_at(split);
    let n: usize = num.parse().context("expected a number of bytes")?;
    let mult: usize = match unit.trim_end_matches(['i', 'B']) {
        "" => 1,
        "K" | "k" => 1 << 10,
        "M" | "m" => 1 << 20,
        "G" | "g" => 1 << 30,
        _ => bail!("unknown size suffix `{unit}`"),
    };
    n.checked_mul(mult).context("size out of range")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(w: &[&str], c: &[&str]) -> Result<Options> {
        CommonOptions {
            wasm: w.iter().map(|s| s.to_string()).collect(),
            codegen: c.iter().map(|s| s.to_string()).collect(),
        }
        .parse()
    }

    #[test]
    fn parses_wasmtime_spellings() {
        let o = parse(
            &[
                "fuel=1000",
                "timeout=250ms",
                "max-memory-size=64Ki",
                "max-wasm-stack=1M",
            ],
            &["cache=n"],
        )
        .unwrap();
        assert_eq!(o.fuel, Some(1000));
        assert_eq!(o.timeout, Some(Duration::from_millis(250)));
        assert_eq!(o.max_memory_size, Some(65536));
        assert_eq!(o.max_wasm_stack, Some(1 << 20));
        assert!(!o.cache);
        assert_eq!(
            parse(&["timeout=2"], &[]).unwrap().timeout,
            Some(Duration::from_secs(2))
        );
    }

    #[test]
    fn bad_flags_are_errors() {
        assert!(parse(&["fule=1"], &[]).is_err());
        assert!(parse(&["fuel"], &[]).is_err());
        assert!(parse(&["fuel=-1"], &[]).is_err());
        assert!(parse(&["timeout=5parsecs"], &[]).is_err());
        assert!(parse(&[], &["cache=maybe"]).is_err());
    }
}

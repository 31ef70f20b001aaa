//! The `KEY[=VAL][,KEY[=VAL]...]` lists of `-W`, `-O`, `-C` and `-S`, as
//! Wasmtime's CLI spells them: splitting, the value syntaxes (booleans,
//! sizes, durations), the table of keys each flag knows (for `-W help` and
//! for suggesting the closest key to a misspelt one), and the keys Wasmtime
//! has that Hayate refuses, each with its reason.

use std::time::Duration;

use anyhow::{Context, Result, bail};

/// Whether and how Hayate honours a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Support {
    /// Honoured.
    Yes,
    /// A boolean Hayate honours only as `n` (the feature is already off):
    /// turning it on is an error with this reason.
    OffOnly(&'static str),
    /// Refused whatever its value, with this reason.
    No(&'static str),
}

/// One key a flag accepts.
#[derive(Debug, Clone, Copy)]
pub struct Key {
    /// The name, as Wasmtime spells it.
    pub name: &'static str,
    /// The value syntax shown by `help` (`""` for a boolean).
    pub value: &'static str,
    /// One line of help.
    pub help: &'static str,
    /// Whether Hayate honours it.
    pub support: Support,
}

/// A boolean key Hayate honours.
pub const fn flag(name: &'static str, help: &'static str) -> Key {
    Key {
        name,
        value: "",
        help,
        support: Support::Yes,
    }
}

/// A key with a value Hayate honours.
pub const fn valued(name: &'static str, value: &'static str, help: &'static str) -> Key {
    Key {
        name,
        value,
        help,
        support: Support::Yes,
    }
}

/// A boolean key that may only be `n`.
pub const fn off_only(name: &'static str, why: &'static str) -> Key {
    Key {
        name,
        value: "",
        help: why,
        support: Support::OffOnly(why),
    }
}

/// A key Hayate refuses.
pub const fn refused(name: &'static str, value: &'static str, why: &'static str) -> Key {
    Key {
        name,
        value,
        help: why,
        support: Support::No(why),
    }
}

/// The keys of one flag.
#[derive(Debug)]
pub struct Group {
    /// The short flag, `-W`.
    pub flag: &'static str,
    /// The long flag, without dashes: `wasm`.
    pub long: &'static str,
    /// The flag's `--help` line.
    pub summary: &'static str,
    /// What the flag configures, for `help`.
    pub what: &'static str,
    /// Every key, honoured or not.
    pub keys: &'static [Key],
    /// Families of keys refused by prefix (Wasmtime's `-C cranelift-KEY`),
    /// with the reason.
    pub refused_prefixes: &'static [(&'static str, &'static str)],
}

/// One `KEY[=VAL]` item of a flag's list, after the checks of [`Group::items`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Item<'a> {
    /// The flag, for messages.
    pub flag: &'static str,
    /// The key, one of the group's honoured keys.
    pub key: &'static str,
    /// The value, if `=` was given.
    pub value: Option<&'a str>,
}

impl Group {
    /// Splits every flag occurrence at its commas and checks each key:
    /// unknown keys name the closest known one, refused keys say why, and
    /// `n` of an off-only key is dropped (there is nothing to do).
    pub fn items<'a>(&self, flags: &'a [String]) -> Result<Vec<Item<'a>>> {
        let mut items = Vec::new();
        for flag in flags {
            for part in flag.split(',') {
                let (key, value) = match part.split_once('=') {
                    Some((k, v)) => (k.trim(), Some(v.trim())),
                    None => (part.trim(), None),
                };
                if key.is_empty() {
                    bail!("empty option in `{} {flag}`", self.flag);
                }
                let Some(known) = self.keys.iter().find(|k| k.name == key) else {
                    if let Some((_, why)) = self
                        .refused_prefixes
                        .iter()
                        .find(|(p, _)| key.starts_with(p))
                    {
                        bail!("`{} {part}` is not supported: {why}", self.flag);
                    }
                    bail!("{}", self.unknown(key));
                };
                let item = Item {
                    flag: self.flag,
                    key: known.name,
                    value,
                };
                match known.support {
                    Support::Yes => items.push(item),
                    Support::OffOnly(why) => {
                        if item.bool()? {
                            bail!(
                                "`{} {part}`: {why} (`{} {key}=n` is accepted)",
                                self.flag,
                                self.flag
                            );
                        }
                    }
                    Support::No(why) => bail!("`{} {part}` is not supported: {why}", self.flag),
                }
            }
        }
        Ok(items)
    }

    /// The message for an unknown key, with the closest known one.
    fn unknown(&self, key: &str) -> String {
        let flag = self.flag;
        match closest(key, self.keys.iter().map(|k| k.name)) {
            Some(similar) => format!(
                "unknown option `{flag} {key}`; a similar option exists: `{flag} {similar}` \
                 (see `hayate run {flag} help`)"
            ),
            None => format!("unknown option `{flag} {key}` (see `hayate run {flag} help`)"),
        }
    }

    /// The text `-W help` prints: honoured keys, then refused ones.
    pub fn help(&self) -> String {
        let shape = |k: &Key| match k.value {
            "" => format!("{}[=y|n]", k.name),
            v => format!("{}={v}", k.name),
        };
        let width = self.keys.iter().map(|k| shape(k).len()).max().unwrap_or(0);
        let mut out = format!("Available {} options ({}):\n\n", self.what, self.flag);
        for k in self.keys.iter().filter(|k| k.support == Support::Yes) {
            out += &format!("  {} {:>width$} -- {}\n", self.flag, shape(k), k.help);
        }
        out += "\nWasmtime options Hayate accepts only as `n` or refuses, and why:\n\n";
        for k in self.keys.iter().filter(|k| k.support != Support::Yes) {
            let only = if matches!(k.support, Support::OffOnly(_)) {
                " (=n accepted)"
            } else {
                ""
            };
            out += &format!("  {} {:>width$} -- {}{only}\n", self.flag, shape(k), k.help);
        }
        for (prefix, why) in self.refused_prefixes {
            out += &format!(
                "  {} {:>width$} -- {why}\n",
                self.flag,
                format!("{prefix}<KEY>[=val]")
            );
        }
        out += &format!(
            "\nSeveral options may share one flag, separated by commas: `{} a=1,b`.\n",
            self.flag
        );
        out
    }
}

impl Item<'_> {
    fn context(&self) -> String {
        match self.value {
            Some(v) => format!("invalid value in `{} {}={v}`", self.flag, self.key),
            None => format!("invalid value in `{} {}`", self.flag, self.key),
        }
    }

    /// The value, which this key requires.
    pub fn required(&self) -> Result<&str> {
        match self.value {
            Some(v) => Ok(v),
            None => bail!(
                "`{} {}` needs a value: `{0} {1}=VALUE`",
                self.flag,
                self.key
            ),
        }
    }

    /// A boolean: no value means yes.
    pub fn bool(&self) -> Result<bool> {
        parse_bool(self.value.unwrap_or("")).with_context(|| self.context())
    }

    /// A number.
    pub fn number<T: std::str::FromStr>(&self) -> Result<T>
    where
        T::Err: std::error::Error + Send + Sync + 'static,
    {
        let v = self.required()?;
        v.parse().with_context(|| self.context())
    }

    /// A size in bytes (`64Ki`, `1M`, ...).
    pub fn size(&self) -> Result<usize> {
        parse_size(self.required()?).with_context(|| self.context())
    }

    /// A duration (`500ms`, `2s`, ...).
    pub fn duration(&self) -> Result<Duration> {
        parse_duration(self.required()?).with_context(|| self.context())
    }

    /// One of `choices`.
    pub fn choice<'c>(&self, choices: &[&'c str]) -> Result<&'c str> {
        let v = self.required()?;
        match choices.iter().find(|c| **c == v) {
            Some(c) => Ok(c),
            None => bail!("{}: expected {}", self.context(), choices.join(", ")),
        }
    }
}

/// `y`, `yes`, `true`, `1` or nothing; `n`, `no`, `false`, `0`.
pub fn parse_bool(v: &str) -> Result<bool> {
    match v {
        "y" | "yes" | "true" | "1" | "" => Ok(true),
        "n" | "no" | "false" | "0" => Ok(false),
        _ => bail!("expected y|n|yes|no|true|false, or nothing for yes"),
    }
}

/// `10`, `10s`, `500ms`, `2m`, `1h`, `100us`, `5ns` (a bare number is seconds).
pub fn parse_duration(v: &str) -> Result<Duration> {
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

/// `65536`, `64Ki`, `64K`, `10Mi`, `1G`, `4GiB`, ... (binary multiples).
pub fn parse_size(v: &str) -> Result<usize> {
    let split = v.find(|c: char| !c.is_ascii_digit()).unwrap_or(v.len());
    let (num, unit) = v.split_at(split);
    let n: usize = num.parse().context("expected a number of bytes")?;
    let mult: usize = match unit.trim_end_matches(['i', 'B']) {
        "" => 1,
        "K" | "k" => 1 << 10,
        "M" | "m" => 1 << 20,
        "G" | "g" => 1 << 30,
        "T" | "t" => 1 << 40,
        _ => bail!("unknown size suffix `{unit}`"),
    };
    n.checked_mul(mult).context("size out of range")
}

/// The candidate closest to `word`: one that starts with it (a key typed
/// short, `max-memory`), else the nearest by edit distance if that is a
/// plausible typo (at most a third of the longer word, at least one edit).
pub fn closest<'a>(word: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .filter_map(|c| {
            let d = edit_distance(word, c);
            let prefix = word.len() >= 3 && c.starts_with(word);
            (prefix || d <= (word.len().max(c.len()) / 3).max(1)).then_some((!prefix, d, c))
        })
        .min_by_key(|(not_prefix, d, _)| (*not_prefix, *d))
        .map(|(_, _, c)| c)
}

/// Levenshtein distance, with a swap of two adjacent letters counting as
/// one edit.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    // rows[i][j]: distance between a[..i] and b[..j]; three rows suffice.
    let mut before = vec![0usize; b.len() + 1];
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0usize; b.len() + 1];
    for i in 1..=a.len() {
        current[0] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (previous[j] + 1)
                .min(current[j - 1] + 1)
                .min(previous[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(before[j - 2] + 1);
            }
            current[j] = d;
        }
        std::mem::swap(&mut before, &mut previous);
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEYS: &[Key] = &[
        valued("fuel", "N", "fuel"),
        flag("simd", "simd"),
        off_only("threads", "not implemented"),
        refused("wmemcheck", "", "no"),
    ];
    const GROUP: Group = Group {
        flag: "-W",
        long: "wasm",
        summary: "test",
        what: "test",
        keys: KEYS,
        refused_prefixes: &[("x-", "no x")],
    };

    fn items(flags: &[&str]) -> Result<Vec<(&'static str, Option<String>)>> {
        let flags: Vec<String> = flags.iter().map(|s| s.to_string()).collect();
        Ok(GROUP
            .items(&flags)?
            .into_iter()
            .map(|i| (i.key, i.value.map(str::to_string)))
            .collect())
    }

    #[test]
    fn splits_commas_and_values() {
        assert_eq!(
            items(&["fuel=10,simd", "simd=n"]).unwrap(),
            [
                ("fuel", Some("10".into())),
                ("simd", None),
                ("simd", Some("n".into()))
            ]
        );
        // An off-only key set to no is dropped; set to yes it is an error.
        assert_eq!(items(&["threads=n", "threads=false"]).unwrap(), []);
        let e = items(&["threads"]).unwrap_err().to_string();
        assert!(
            e.contains("not implemented") && e.contains("-W threads=n"),
            "{e}"
        );
        let e = items(&["wmemcheck=n"]).unwrap_err().to_string();
        assert!(e.contains("not supported"), "{e}");
        assert!(items(&["fuel=1,"]).is_err());
        assert!(items(&["threads=maybe"]).is_err());
        let e = items(&["x-y=1"]).unwrap_err().to_string();
        assert!(e.contains("`-W x-y=1` is not supported: no x"), "{e}");
    }

    #[test]
    fn unknown_keys_name_the_closest() {
        let e = items(&["fule=1"]).unwrap_err().to_string();
        assert!(e.contains("`-W fule`") && e.contains("`-W fuel`"), "{e}");
        let e = items(&["smid"]).unwrap_err().to_string();
        assert!(e.contains("`-W simd`"), "{e}");
        let e = items(&["zzzzzzzz"]).unwrap_err().to_string();
        assert!(!e.contains("similar"), "{e}");
    }

    #[test]
    fn edit_distances() {
        assert_eq!(edit_distance("fuel", "fuel"), 0);
        assert_eq!(edit_distance("fule", "fuel"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(
            closest(
                "max-memory",
                ["max-memory-size", "max-instances"].into_iter()
            ),
            Some("max-memory-size")
        );
        assert_eq!(closest("x", ["fuel", "simd"].into_iter()), None);
    }

    #[test]
    fn values() {
        assert!(parse_bool("yes").unwrap() && parse_bool("").unwrap());
        assert!(!parse_bool("false").unwrap());
        assert!(parse_bool("maybe").is_err());
        assert_eq!(parse_size("4GiB").unwrap(), 4 << 30);
        assert_eq!(parse_size("64Ki").unwrap(), 65536);
        assert!(parse_size("1Q").is_err());
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("2").unwrap(), Duration::from_secs(2));
        assert!(parse_duration("5parsecs").is_err());
    }

    #[test]
    fn help_lists_every_key() {
        let help = GROUP.help();
        for k in KEYS {
            assert!(help.contains(k.name), "{help}");
        }
        assert!(help.contains("fuel=N") && help.contains("simd[=y|n]"));
    }
}

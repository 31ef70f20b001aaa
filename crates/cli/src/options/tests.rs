//! Unit tests of `-W`, `-O`, `-C` and `--profile` parsing and of what the
//! parsed options do to a `Config`.

use super::*;
use hayate::SpecVersion;

fn parse(w: &[&str], o: &[&str], c: &[&str]) -> Result<Options> {
    let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect();
    CommonOptions {
        wasm: strings(w),
        optimize: strings(o),
        codegen: strings(c),
        profile: None,
    }
    .parse()
}

fn err(w: &[&str], o: &[&str], c: &[&str]) -> String {
    format!("{:#}", parse(w, o, c).unwrap_err())
}

fn config(o: &Options) -> Config {
    let mut config = Config::new();
    o.configure(&mut config);
    config
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
        &[],
        &["cache=n"],
    )
    .unwrap();
    assert_eq!(o.fuel, Some(1000));
    assert_eq!(o.timeout, Some(Duration::from_millis(250)));
    assert_eq!(o.max_memory_size, Some(65536));
    assert_eq!(o.max_wasm_stack, Some(1 << 20));
    assert!(!o.cache);
    assert_eq!(
        parse(&["timeout=2"], &[], &[]).unwrap().timeout,
        Some(Duration::from_secs(2))
    );
}

#[test]
fn comma_separated_lists() {
    let o = parse(
        &["fuel=10,timeout=1s", "max-tables=2,max-memories=3"],
        &[],
        &[],
    )
    .unwrap();
    assert_eq!(o.fuel, Some(10));
    assert_eq!(o.timeout, Some(Duration::from_secs(1)));
    assert_eq!((o.max_tables, o.max_memories), (Some(2), Some(3)));
}

#[test]
fn bad_flags_are_errors() {
    assert!(parse(&["fule=1"], &[], &[]).is_err());
    assert!(parse(&["fuel"], &[], &[]).is_err());
    assert!(parse(&["fuel=-1"], &[], &[]).is_err());
    assert!(parse(&["timeout=5parsecs"], &[], &[]).is_err());
    assert!(parse(&[], &[], &["cache=maybe"]).is_err());
    assert!(parse(&["simd=perhaps"], &[], &[]).is_err());
    assert!(err(&["fuel"], &[], &[]).contains("needs a value"));
}

#[test]
fn unknown_keys_name_the_closest_one() {
    assert!(err(&["fule=1"], &[], &[]).contains("`-W fuel`"));
    assert!(err(&[], &["opt-levl=0"], &[]).contains("`-O opt-level`"));
    assert!(err(&[], &[], &["cahce=n"]).contains("`-C cache`"));
    assert!(err(&["max-memory=1"], &[], &[]).contains("`-W max-memory-size`"));
}

/// The features of a default config after `f`.
fn features_after(f: impl FnOnce(&mut Config)) -> Config {
    let mut config = Config::new();
    f(&mut config);
    config
}

#[test]
fn proposals_toggle_validator_features() {
    let all = Config::new().features();
    for p in PROPOSALS {
        let off = features_after(|c| {
            (p.toggle)(c, false);
        })
        .features();
        assert_ne!(off, all, "{}", p.name);
        for no in ["n", "no", "false"] {
            let o = parse(&[&format!("{}={no}", p.name)], &[], &[]).unwrap();
            assert_eq!(config(&o).features(), off, "{}={no}", p.name);
        }
        for yes in [
            p.name.to_string(),
            format!("{}=y", p.name),
            format!("{}=true", p.name),
        ] {
            let o = parse(&[&format!("{}=n", p.name), &yes], &[], &[]).unwrap();
            assert_eq!(config(&o).features(), all, "{yes}");
        }
    }
    // all-proposals=n turns off what Wasmtime's turns off; single keys win
    // whatever their position.
    let o = parse(&["simd=y", "all-proposals=n"], &[], &[]).unwrap();
    let expected = features_after(|c| {
        c.wasm_bulk_memory(false)
            .wasm_multi_memory(false)
            .wasm_multi_value(false)
            .wasm_reference_types(false)
            .wasm_tail_call(false)
            .wasm_extended_const(false)
            .wasm_memory64(false)
            .wasm_relaxed_simd(false)
            .wasm_function_references(false)
            .wasm_exceptions(false)
            .wasm_gc(false);
    });
    assert_eq!(config(&o).features(), expected.features());
    let o = parse(&["all-proposals=y"], &[], &[]).unwrap();
    assert_eq!(config(&o).features(), all);
    // The 2.0 set with its proposals off is the 1.0 set.
    let v1 = features_after(|c| {
        c.spec_version(Some(SpecVersion::V1));
    });
    let o = parse(
        &["all-proposals=n,multi-memory=n,sign-extension=n,nontrapping-float-to-int=n"],
        &[],
        &[],
    )
    .unwrap();
    assert_eq!(config(&o).features(), v1.features());
}

#[test]
fn unimplemented_proposals_may_only_be_off() {
    for key in ["threads", "component-model", "stack-switching"] {
        let o = parse(&[&format!("{key}=n")], &[], &[]).unwrap();
        assert_eq!(config(&o).features(), Config::new().features());
        let e = err(&[&format!("{key}=y")], &[], &[]);
        assert!(e.contains("not implemented by Hayate yet"), "{e}");
        assert!(e.contains(&format!("-W {key}=n")), "{e}");
    }
    assert!(err(&["trap-on-grow-failure=y"], &[], &[]).contains("not supported yet"));
    assert!(
        parse(&["unknown-imports-trap"], &[], &[])
            .unwrap()
            .unknown_imports_trap
    );
    assert!(parse(&["trap-on-grow-failure=n,unknown-imports-trap=n"], &[], &[]).is_ok());
    assert!(parse(&["unknown-exports-allow"], &[], &[]).is_ok());
    assert!(err(&["unknown-exports-allow=n"], &[], &[]).contains("always allowed"));
    assert!(err(&["async-stack-size=1"], &[], &[]).contains("not supported"));
}

#[test]
fn opt_level_in_both_places() {
    let level = |o: &[&str], c: &[&str]| parse(&[], o, c).unwrap().opt_level;
    assert_eq!(level(&[], &[]), None);
    assert_eq!(level(&["opt-level=0"], &[]), Some(OptLevel::None));
    assert_eq!(level(&[], &["opt-level=0"]), Some(OptLevel::None));
    assert_eq!(level(&["opt-level=1"], &[]), Some(OptLevel::Speed));
    assert_eq!(level(&["opt-level=2"], &[]), Some(OptLevel::Speed));
    assert_eq!(level(&["opt-level=s"], &[]), Some(OptLevel::SpeedAndSize));
    assert!(err(&[], &["opt-level=3"], &[]).contains("expected 0, 1, 2, s"));
}

#[test]
fn memory_layout_keys() {
    let checks = |o: &[&str]| parse(&[], o, &[]).unwrap().bounds_checks;
    assert_eq!(checks(&[]), None);
    assert_eq!(
        checks(&["memory-reservation=0"]),
        Some(BoundsChecks::Explicit)
    );
    assert_eq!(
        checks(&["memory-guard-size=0"]),
        Some(BoundsChecks::Explicit)
    );
    assert_eq!(
        checks(&["memory-reservation=4GiB,memory-guard-size=4GiB"]),
        Some(BoundsChecks::GuardPages)
    );
    assert!(err(&[], &["memory-reservation=1GiB"], &[]).contains("cannot be honoured"));
    assert!(err(&[], &["memory-guard-size=2GiB"], &[]).contains("cannot be honoured"));
    assert!(err(&[], &["memory-reservation=0,memory-guard-size=4GiB"], &[]).contains("disagree"));
    let o = parse(&[], &["table-lazy-init=n,memory-init-cow=n"], &[]).unwrap();
    assert_eq!(
        (o.table_lazy_init, o.memory_init_cow),
        (Some(false), Some(false))
    );
}

#[test]
fn pooling_keys() {
    assert_eq!(parse(&[], &[], &[]).unwrap().pooling, None);
    assert_eq!(
        parse(&[], &["pooling-allocator"], &[]).unwrap().pooling,
        Some(PoolingConfig::default())
    );
    assert_eq!(
        parse(&[], &["pooling-allocator=y,pooling-allocator=n"], &[])
            .unwrap()
            .pooling,
        None
    );
    let pool = parse(
        &[],
        &[
            "pooling-total-memories=4,pooling-allocator",
            "pooling-max-memory-size=1Mi,pooling-total-core-instances=5",
            "pooling-table-elements=100,pooling-total-tables=6",
            "pooling-max-memories-per-module=2,pooling-max-tables-per-module=3",
            "pooling-max-core-instance-size=64Ki,pooling-memory-keep-resident=8Ki",
        ],
        &[],
    )
    .unwrap()
    .pooling
    .unwrap();
    assert_eq!(
        pool,
        PoolingConfig {
            max_instances: 5,
            max_memories: 4,
            max_tables: 6,
            max_memories_per_instance: 2,
            max_tables_per_instance: 3,
            max_memory_pages: 16,
            max_table_elements: 100,
            max_vmctx_size: 65536,
            memory_keep_resident: 8192,
        }
    );
    assert!(err(&[], &["pooling-total-memories=4"], &[]).contains("add `-O pooling-allocator`"));
    assert!(
        err(
            &[],
            &["pooling-allocator,pooling-max-memory-size=1000"],
            &[]
        )
        .contains("64 KiB")
    );
    assert!(err(&[], &["pooling-total-stacks=1"], &[]).contains("not supported"));
}

#[test]
fn codegen_keys() {
    let o = parse(
        &[],
        &[],
        &["cache=n,parallel-compilation=n,compiler=cranelift"],
    )
    .unwrap();
    assert!(!o.cache && !o.parallel_compilation);
    assert_eq!(o.compiler, Some(hayate::Strategy::Cranelift));
    let o = parse(&[], &[], &["compiler=llvm"]).unwrap();
    assert_eq!(o.compiler, Some(hayate::Strategy::Llvm));
    assert!(err(&[], &[], &["compiler=winch"]).contains("Cranelift or LLVM"));
    assert!(err(&[], &[], &["compiler=gcc"]).contains("cranelift"));
    assert!(err(&[], &[], &["cranelift-opt_level=none"]).contains("not supported"));
    assert!(err(&[], &[], &["inlining=n"]).contains("not supported"));
}

#[test]
fn profile_strategies() {
    let profile = |p: &str| {
        CommonOptions {
            profile: Some(p.to_string()),
            ..Default::default()
        }
        .parse()
    };
    assert_eq!(
        profile("perfmap").unwrap().profiler,
        Some(ProfilingStrategy::PerfMap)
    );
    let e = profile("jitdump").unwrap_err().to_string();
    assert!(e.contains("not implemented by Hayate yet"), "{e}");
    let e = profile("perfmp").unwrap_err().to_string();
    assert!(e.contains("`perfmap`"), "{e}");
}

#[test]
fn every_honoured_key_is_handled() {
    // A sample value for every key Hayate honours parses (no key in the
    // tables is missing from the `match`es, which would panic).
    for group in tables::all() {
        for key in group
            .keys
            .iter()
            .filter(|k| k.support == keys::Support::Yes)
        {
            let value = match key.value {
                "" => "y",
                "0|1|2|s" => "2",
                "0|4GiB" => "4GiB",
                "cranelift|llvm" => "llvm",
                "y|n|auto" => "auto",
                "N|Ns|Nms|.." => "1s",
                _ => "65536",
            };
            let flag = vec![format!("{}={value}", key.name)];
            let mut options = CommonOptions::default();
            match group.flag {
                "-W" => options.wasm = flag,
                "-C" => options.codegen = flag,
                _ => {
                    options.optimize = flag;
                    options.optimize.push("pooling-allocator".into());
                }
            }
            options
                .parse()
                .unwrap_or_else(|e| panic!("{} {}: {e:#}", group.flag, key.name));
        }
    }
}

#[test]
fn lazy_compilation_is_y_n_or_decided_by_the_module() {
    let lazy = |value: &str| {
        let options = CommonOptions {
            codegen: vec![value.to_string()],
            ..Default::default()
        };
        options.parse().map(|o| o.lazy_compilation)
    };
    assert_eq!(lazy("cache").unwrap(), None, "auto by default");
    assert_eq!(lazy("lazy-compilation").unwrap(), Some(true));
    assert_eq!(lazy("lazy-compilation=y").unwrap(), Some(true));
    assert_eq!(lazy("lazy-compilation=n").unwrap(), Some(false));
    assert_eq!(lazy("lazy-compilation=auto").unwrap(), None);
    assert!(lazy("lazy-compilation=sometimes").is_err());

    let dir = tempfile::tempdir().unwrap();
    let decide = |name: &str, bytes: &[u8]| {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let mut o = CommonOptions::default().parse().unwrap();
        o.resolve_lazy_compilation(&path);
        o.lazy_compilation
    };
    let mut large = b"\0asm".to_vec();
    large.resize(LAZY_AUTO_MIN_BYTES as usize, 0);
    assert_eq!(decide("large.wasm", &large), Some(true));
    assert_eq!(decide("small.wasm", &large[..1000]), Some(false));
    let mut text = b"(module)".to_vec();
    text.resize(LAZY_AUTO_MIN_BYTES as usize, b' ');
    assert_eq!(decide("large.wat", &text), Some(false), "text is not");
    let mut missing = CommonOptions::default().parse().unwrap();
    missing.resolve_lazy_compilation(&dir.path().join("missing.wasm"));
    assert_eq!(missing.lazy_compilation, Some(false));
    // A choice on the command line stands.
    let mut chosen = CommonOptions {
        codegen: vec!["lazy-compilation=n".into()],
        ..Default::default()
    }
    .parse()
    .unwrap();
    chosen.resolve_lazy_compilation(&dir.path().join("large.wasm"));
    assert_eq!(chosen.lazy_compilation, Some(false));
}

#[test]
fn options_survive_a_round_trip_through_their_flags() {
    use clap::{Args, FromArgMatches};
    let command = CommonOptions::augment_args(clap::Command::new("t"));
    let flags = [
        "t",
        "-W",
        "fuel=1000",
        "-O",
        "opt-level=0",
        "-C",
        "cache=y,lazy-compilation=y",
        "--profile",
        "perfmap",
    ];
    let options =
        CommonOptions::from_arg_matches(&command.clone().get_matches_from(flags)).unwrap();
    let mut again = vec!["t".to_string()];
    again.extend(options.to_args());
    let reparsed = CommonOptions::from_arg_matches(&command.get_matches_from(again)).unwrap();
    assert_eq!(reparsed.parse().unwrap(), options.parse().unwrap());
    assert_eq!(reparsed.to_args(), options.to_args());
}

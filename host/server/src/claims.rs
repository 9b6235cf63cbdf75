//! Who serves a name or URI that several plugins claim. No plugin can take or block another
//! plugin's tool, prompt, resource URI or resource template (ARCHITECTURE.md §3):
//!
//! - **Tool and prompt names** are published as `<prefix>_<name>` (the prefix is the plugin's name
//!   unless its policy sets another), so two plugins can only collide when one prefix is a prefix
//!   of the other's (`a` with tool `b_c`, and `a_b` with tool `c`, both publish `a_b_c`). The name
//!   belongs to the plugin whose prefix is the longer: `a_b_…` is `a_b`'s namespace. Which plugin
//!   loaded first does not matter. Names outside any namespace — an operator's `prefix = ""` or
//!   `rename` — have the empty namespace, so they never take a name from a prefixed plugin; between
//!   equal namespaces (two unprefixed plugins, or two given the same prefix) the resource rule
//!   below decides.
//! - **Resource URIs and templates** have no namespace. The plugin that has served longer keeps
//!   serving ([`Seniority`]: the plugin in the catalog since an earlier load round, and among
//!   plugins that joined in the same round — the plugins present at start-up — the one whose file
//!   is older); the newcomer's claim is refused and reported. Exactly equal seniority (or none
//!   known) withholds the item from every claimant and reports it.
//!
//! A plugin that declares the same key twice keeps the first declaration.

use std::collections::BTreeMap;
use std::time::SystemTime;

use serde::Serialize;

/// How long a plugin has been served: earlier sorts first. The load round it first joined the
/// catalog in (every start-up plugin shares round 0, each hot-reload load has its own), then the
/// modification time of its file.
pub type Seniority = (u64, Option<SystemTime>);

/// Something in a plugin that was not published, and why.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Problem {
    /// The plugin (file stem), or several joined by `, ` when they compete.
    pub plugin: String,
    pub message: String,
}

/// One plugin's claim on a key.
pub struct Claim<E> {
    pub key: String,
    pub plugin: String,
    /// The namespace the key was published in ([`Rule::Namespace`]): the prefix the name was
    /// made with, empty for an unprefixed or renamed item and for resources.
    pub namespace: String,
    pub entry: E,
}

/// How competing claims on one key are settled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rule {
    /// The plugin with the longest namespace wins (published tool and prompt names); between
    /// equally long ones, [`Rule::Seniority`].
    Namespace,
    /// The most senior plugin wins (resource URIs and templates).
    Seniority,
}

/// Settle `claims` of `kind` (e.g. "tool name") under `rule`; refused and withheld claims are
/// reported in `problems`. `seniority` tells how long each plugin has been served.
pub fn settle<E>(
    kind: &str,
    rule: Rule,
    claims: Vec<Claim<E>>,
    seniority: &dyn Fn(&str) -> Option<Seniority>,
    problems: &mut Vec<Problem>,
) -> BTreeMap<String, E> {
    let mut by_key: BTreeMap<String, Vec<Claim<E>>> = BTreeMap::new();
    for claim in claims {
        by_key.entry(claim.key.clone()).or_default().push(claim);
    }
    let mut out = BTreeMap::new();
    for (key, claims) in by_key {
        let mut plugins: Vec<&str> = claims.iter().map(|c| c.plugin.as_str()).collect();
        plugins.sort();
        plugins.dedup();
        let winner = if plugins.len() == 1 {
            Some(plugins[0].to_string())
        } else {
            // The longest namespace each plugin claims the key in.
            let namespace = |plugin: &str| {
                claims
                    .iter()
                    .filter(|c| c.plugin == plugin)
                    .map(|c| c.namespace.len())
                    .max()
                    .unwrap_or(0)
            };
            let winner = pick(rule, &plugins, seniority, &namespace);
            let all = plugins.join(", ");
            problems.push(Problem {
                plugin: all.clone(),
                message: match &winner {
                    Some((w, decided)) => format!(
                        "{kind} '{key}' is claimed by plugins {all}; {w} serves it ({}), the \
                         other claims are refused",
                        match decided {
                            Rule::Namespace => "the name is in its namespace",
                            Rule::Seniority => "it has served it longer",
                        }
                    ),
                    None => format!(
                        "{kind} '{key}' is claimed by plugins {all}, none of which has served \
                         it longer; it is withheld from all of them until the conflict is removed"
                    ),
                },
            });
            winner.map(|(w, _)| w)
        };
        let Some(winner) = winner else { continue };
        let mut mine = claims.into_iter().filter(|c| c.plugin == winner);
        let Some(first) = mine.next() else { continue };
        let extra = mine.count();
        if extra > 0 {
            problems.push(Problem {
                plugin: winner.clone(),
                message: format!(
                    "{kind} '{key}' is declared {} times; the first one is used",
                    extra + 1
                ),
            });
        }
        out.insert(key, first.entry);
    }
    out
}

/// The winner among `plugins` (at least two, sorted), if the rule names one, and the rule that
/// decided (a namespace tie is decided by seniority). `namespace` is the length of the namespace
/// each plugin claims in.
fn pick(
    rule: Rule,
    plugins: &[&str],
    seniority: &dyn Fn(&str) -> Option<Seniority>,
    namespace: &dyn Fn(&str) -> usize,
) -> Option<(String, Rule)> {
    match rule {
        Rule::Namespace => {
            let longest = plugins.iter().map(|p| namespace(p)).max()?;
            let top: Vec<&str> = plugins
                .iter()
                .copied()
                .filter(|p| namespace(p) == longest)
                .collect();
            match top.as_slice() {
                [only] => Some((only.to_string(), Rule::Namespace)),
                _ => pick(Rule::Seniority, &top, seniority, namespace),
            }
        }
        Rule::Seniority => {
            let mut ranked: Vec<(Seniority, &str)> = plugins
                .iter()
                .filter_map(|p| seniority(p).map(|s| (s, *p)))
                .collect();
            if ranked.len() < plugins.len() {
                return None; // someone's seniority is unknown: no safe answer
            }
            ranked.sort();
            match ranked.as_slice() {
                [(first, p), (second, _), ..] if first < second => {
                    Some((p.to_string(), Rule::Seniority))
                }
                _ => None,
            }
        }
    }
}

/// The most senior of `plugins` (names), if exactly one is.
pub fn most_senior<'a>(
    plugins: &[&'a str],
    seniority: &dyn Fn(&str) -> Option<Seniority>,
) -> Option<&'a str> {
    let mut sorted = plugins.to_vec();
    sorted.sort();
    sorted.dedup();
    if sorted.len() == 1 {
        return Some(sorted[0]);
    }
    let (name, _) = pick(Rule::Seniority, &sorted, seniority, &|_| 0)?;
    sorted.into_iter().find(|p| *p == name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// A claim in the namespace of the plugin's own name (the default prefix).
    fn claim(key: &str, plugin: &str, entry: u32) -> Claim<u32> {
        Claim {
            key: key.into(),
            plugin: plugin.into(),
            namespace: plugin.into(),
            entry,
        }
    }

    #[test]
    fn unprefixed_names_yield_to_a_namespace_and_tie_on_seniority() {
        let t0 = SystemTime::UNIX_EPOCH;
        let unprefixed = |key: &str, plugin: &str, entry| Claim {
            namespace: String::new(),
            ..claim(key, plugin, entry)
        };
        // `gh_search` published unprefixed by `tools` and in `gh`'s namespace: gh keeps it.
        let mut problems = Vec::new();
        let out = settle(
            "tool name",
            Rule::Namespace,
            vec![
                unprefixed("gh_search", "tools", 1),
                claim("gh_search", "gh", 2),
            ],
            &none,
            &mut problems,
        );
        assert_eq!(out.get("gh_search"), Some(&2));
        assert!(
            problems[0]
                .message
                .contains("gh serves it (the name is in its namespace)")
        );
        // Two unprefixed plugins: the senior one keeps the name; unknown seniority withholds it.
        let senior = |p: &str| Some((u64::from(p == "late"), Some(t0)));
        let claims = || {
            vec![
                unprefixed("search", "early", 1),
                unprefixed("search", "late", 2),
            ]
        };
        let mut problems = Vec::new();
        let out = settle(
            "tool name",
            Rule::Namespace,
            claims(),
            &senior,
            &mut problems,
        );
        assert_eq!(out.get("search"), Some(&1));
        assert!(
            problems[0]
                .message
                .contains("early serves it (it has served it longer)")
        );
        let mut problems = Vec::new();
        let out = settle("tool name", Rule::Namespace, claims(), &none, &mut problems);
        assert!(out.is_empty());
        assert!(problems[0].message.contains("withheld"));
    }

    fn none(_: &str) -> Option<Seniority> {
        None
    }

    #[test]
    fn unknown_seniority_withholds_from_every_claimant() {
        let mut problems = Vec::new();
        let out = settle(
            "resource URI",
            Rule::Seniority,
            vec![
                claim("a://x", "alpha", 1),
                claim("a://y", "alpha", 2),
                claim("a://x", "beta", 3),
            ],
            &none,
            &mut problems,
        );
        assert_eq!(
            out.into_iter().collect::<Vec<_>>(),
            vec![("a://y".to_string(), 2)]
        );
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].plugin, "alpha, beta");
        assert!(
            problems[0].message.contains("withheld from all of them"),
            "{problems:?}"
        );
    }

    /// Either order of loading: the plugin that served first keeps the URI.
    #[test]
    fn the_senior_plugin_keeps_a_uri_in_either_order() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1000);
        for (older, newer) in [("alpha", "beta"), ("beta", "alpha")] {
            let seniority = |p: &str| {
                Some(if p == older {
                    (0, Some(t0))
                } else {
                    (3, Some(t0))
                })
            };
            let mut problems = Vec::new();
            let out = settle(
                "resource URI",
                Rule::Seniority,
                vec![claim("a://x", "alpha", 1), claim("a://x", "beta", 2)],
                &seniority,
                &mut problems,
            );
            let want = if older == "alpha" { 1 } else { 2 };
            assert_eq!(out.get("a://x"), Some(&want), "{older} before {newer}");
            assert!(
                problems[0].message.contains(&format!("{older} serves it")),
                "{problems:?}"
            );
        }
        // Same round (start-up): the older file wins; equal times: withheld.
        let by_time = |p: &str| {
            Some((
                0,
                Some(t0 + Duration::from_secs(if p == "beta" { 1 } else { 2 })),
            ))
        };
        assert_eq!(most_senior(&["alpha", "beta"], &by_time), Some("beta"));
        let same = |_: &str| Some((0, Some(t0)));
        assert_eq!(most_senior(&["alpha", "beta"], &same), None);
    }

    #[test]
    fn a_name_belongs_to_the_plugin_whose_namespace_it_is_in() {
        let mut problems = Vec::new();
        let out = settle(
            "tool name",
            Rule::Namespace,
            vec![claim("a_b_c", "a", 1), claim("a_b_c", "a_b", 2)],
            &none,
            &mut problems,
        );
        assert_eq!(out.get("a_b_c"), Some(&2));
        assert!(
            problems[0].message.contains("a_b serves it"),
            "{problems:?}"
        );
    }

    #[test]
    fn duplicates_within_one_plugin_keep_the_first() {
        let mut problems = Vec::new();
        let out = settle(
            "tool name",
            Rule::Namespace,
            vec![claim("p_t", "p", 1), claim("p_t", "p", 2)],
            &none,
            &mut problems,
        );
        assert_eq!(out.get("p_t"), Some(&1));
        assert!(problems[0].message.contains("declared 2 times"));
    }
}

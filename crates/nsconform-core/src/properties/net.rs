//! Network namespaces: network_namespaces(7).

use super::facts;
use crate::catalogue::{Area, CheckResult, Control, Prereq, Property};
use crate::harness::Cx;
use crate::host;
use crate::outcome::{Expect, Verdict};
use crate::probe::view::{self, Interface};
use crate::probe::{Inside, Launch, StepError};
use crate::subject::SubjectObservation;
use serde_json::{json, Value};

pub const ALL: &[Property] = &[NET_01];

/// Devices that tunnel modules (sit, ipip, ip_gre, ip6_tunnel, ip_vti, ...) add to every
/// new network namespace unless `net.core.fb_tunnels_only_for_init_net` says otherwise.
pub const FALLBACK_TUNNELS: &[&str] = &[
    "sit0",
    "tunl0",
    "ip6tnl0",
    "gre0",
    "gretap0",
    "erspan0",
    "ip_vti0",
    "ip6_vti0",
    "ip6gre0",
    "ip6erspan0",
];

// ---------------------------------------------------------------------------------
/// NET-01: a new network namespace has exactly one device, `lo`, and it is down.
/// network_namespaces(7); ip-netns(8).
pub const NET_01: Property = Property {
    id: "NET-01",
    area: Area::Net,
    title: "A new network namespace has exactly one device, lo, and it is DOWN",
    man: "network_namespaces(7)",
    prereq: Prereq::ROOTLESS.config(&["CONFIG_NET_NS"]),
    coverage: "LTP:~netns_comm (brings lo up, never asserts the initial state)",
    controls: &[Control::NoNewNet],
    global: false,
    subject: Some(net_01_subject),
    inside: Some(net_01_inside),
    check: net_01_check,
};

fn net_01_inside(_: &Inside) -> Result<Value, StepError> {
    facts(&view::interfaces())
}

/// Judge an interface list seen in a fresh network namespace. Fallback tunnel devices
/// created by loaded modules are the environment's doing, not the kernel failing the
/// property: that case is a skip that names them and the sysctl that removes them.
pub fn judge_loopback_only(ifaces: &[Interface], fb_tunnels_sysctl: Option<u32>) -> Verdict {
    let names: Vec<&str> = ifaces.iter().map(|i| i.name.as_str()).collect();
    let extra: Vec<&str> = names.iter().copied().filter(|n| *n != "lo").collect();
    let (tunnels, others): (Vec<&str>, Vec<&str>) =
        extra.iter().partition(|n| FALLBACK_TUNNELS.contains(n));
    if others.is_empty() && !tunnels.is_empty() && fb_tunnels_sysctl.unwrap_or(0) == 0 {
        return Verdict::skip(format!(
            "fallback tunnel devices {} appear in every new network namespace because tunnel \
             modules are loaded and net.core.fb_tunnels_only_for_init_net is {}; set it to 2 \
             (or unload the modules) to test this property",
            tunnels.join(", "),
            fb_tunnels_sysctl.map_or("unknown".to_string(), |v| v.to_string())
        ));
    }
    let mut e = Expect::new();
    e.that(
        "devices in the new network namespace (only lo; is CLONE_NEWNET missing?)",
        extra.is_empty() && names.contains(&"lo"),
        "[\"lo\"]",
        format!("{names:?}"),
    );
    let lo_up = ifaces.iter().any(|i| i.name == "lo" && i.up);
    e.eq("lo is down", false, lo_up);
    e.verdict("only lo, and it is down")
}

fn net_01_check(cx: &mut Cx) -> CheckResult {
    let host_net = host::own_ns_inode("net")?;
    let (run, probe_net) = cx.run_held(Launch::host().net(), Value::Null, |run| {
        host::ns_inode(run.host_pid.expect("held"), "net")
    })?;
    let ifaces: Vec<Interface> = run.facts()?;
    let sysctl = crate::env::read_u32("/proc/sys/net/core/fb_tunnels_only_for_init_net");
    let observed =
        json!({ "interfaces": ifaces, "net_ns_differs_from_host": probe_net != host_net });
    if probe_net == host_net {
        let names: Vec<_> = ifaces.iter().map(|i| i.name.clone()).collect();
        return Ok(Verdict::fail(
            "the probe shares the host's network namespace (no CLONE_NEWNET)",
            "a new network namespace",
            format!("host namespace with devices {names:?}"),
        )
        .with_observed(observed));
    }
    Ok(judge_loopback_only(&ifaces, sysctl).with_observed(observed))
}

/// NET-01 for a subject: the probe's network namespace, read from outside through
/// `/proc/<pid>/net/dev`, has only `lo` (a subject may have brought it up).
fn net_01_subject(o: &SubjectObservation) -> Verdict {
    let mut e = Expect::new();
    e.eq(
        "network namespace differs from the host's (seen from outside; CLONE_NEWNET)",
        true,
        o.outside.ns_differs.get("net").copied().unwrap_or(false),
    );
    e.eq(
        "devices seen from outside",
        vec!["lo".to_string()],
        o.outside.netdev.clone(),
    );
    let inside: Vec<String> = o
        .report
        .view
        .interfaces
        .iter()
        .map(|i| i.name.clone())
        .collect();
    e.eq(
        "devices the probe saw inside",
        vec!["lo".to_string()],
        inside,
    );
    e.verdict("only loopback")
        .with_observed(json!({ "devices": o.outside.netdev }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::Outcome;

    fn iface(name: &str, up: bool) -> Interface {
        Interface {
            name: name.into(),
            up,
            loopback: name == "lo",
        }
    }

    #[test]
    fn lo_down_alone_passes() {
        assert_eq!(
            judge_loopback_only(&[iface("lo", false)], Some(0)).outcome,
            Outcome::Pass
        );
    }

    #[test]
    fn lo_up_fails() {
        let v = judge_loopback_only(&[iface("lo", true)], Some(0));
        assert_eq!(v.outcome, Outcome::Fail);
        assert!(v.detail.contains("lo is down"));
    }

    #[test]
    fn fallback_tunnels_are_named_and_skipped() {
        let v = judge_loopback_only(&[iface("lo", false), iface("sit0", false)], Some(0));
        assert_eq!(v.outcome, Outcome::Skip);
        assert!(v.detail.contains("sit0") && v.detail.contains("fb_tunnels_only_for_init_net"));
    }

    #[test]
    fn tunnels_despite_sysctl_fail() {
        let v = judge_loopback_only(&[iface("lo", false), iface("sit0", false)], Some(2));
        assert_eq!(v.outcome, Outcome::Fail);
    }

    #[test]
    fn host_devices_fail() {
        let v = judge_loopback_only(&[iface("lo", true), iface("eth0", true)], Some(0));
        assert_eq!(v.outcome, Outcome::Fail);
        assert!(v.detail.contains("CLONE_NEWNET"));
    }
}

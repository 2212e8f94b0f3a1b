//! Network namespaces: network_namespaces(7).

use crate::harness::{Cx, ProbeRun};
use crate::host;
use crate::kit::{facts, guard, io_errno, io_res, nsfd, res, OK};
use crate::ns::{self, Ns};
use crate::observation::SubjectObservation;
use crate::outcome::{Expect, Verdict};
use crate::probe::view::{self, Interface};
use crate::probe::{Inside, Launch, StepError, StepExt};
use crate::spec::{Area, Call, CheckResult, Control, KernelModule, Prereq, Property};
use nix::mount::{mount, MsFlags};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::os::fd::{AsRawFd, OwnedFd};

pub const ALL: &[Property] = &[
    NET_01, NET_02, NET_03, NET_04, NET_05, NET_07, NET_08, NET_09, NET_10, NET_11,
];

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

// =================================================================================
// Helpers shared by the NET checks.

fn without_fallback_tunnels(names: Vec<String>) -> Vec<String> {
    names
        .into_iter()
        .filter(|n| !FALLBACK_TUNNELS.contains(&n.as_str()))
        .collect()
}

/// Device names listed in a /proc/net/dev style file.
fn proc_net_dev(path: &str) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut names: Vec<String> = text
        .lines()
        .skip(2)
        .filter_map(|l| l.split_once(':').map(|(n, _)| n.trim().to_string()))
        .collect();
    names.sort();
    without_fallback_tunnels(names)
}

/// Inode of the caller's network namespace.
fn own_net() -> Result<u64, StepError> {
    nsfd::ns_ino("self", Ns::Net)
}

/// An fd for the caller's network namespace.
fn this_netns() -> Result<OwnedFd, StepError> {
    nsfd::open_ns("self", Ns::Net)
}

/// Create a new network namespace (the caller moves into it).
fn new_netns() -> Result<(), StepError> {
    nix::sched::unshare(Ns::Net.flag()).step("unshare(CLONE_NEWNET)")
}

/// Switch to the network namespace `fd`.
fn enter_net(fd: &OwnedFd) -> Result<(), StepError> {
    nix::sched::setns(fd, Ns::Net.flag()).step("setns into a network namespace")
}

/// Run `ip` with `args` in the caller's current network namespace.
fn ip(args: &[&str]) -> Result<(), StepError> {
    let out = std::process::Command::new("ip")
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .step(&format!("run ip {}", args.join(" ")))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(StepError::new(
            format!("ip {}", args.join(" ")),
            None,
            String::from_utf8_lossy(&out.stderr).trim().to_string(),
        ))
    }
}

fn t(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| s.to_string()).collect()
}

/// The sub-check every NET check judges after the read-only facts it observed first:
/// the network namespace the probe started in is a new one, not the harness's. In the
/// harness's namespace the read-only facts (devices, /proc/net, the harness's own
/// sockets) fail first; this names the cause where they happened to agree.
const OWN_NETNS: &str =
    "network namespace of the probe (a new one, not the harness's; CLONE_NEWNET)";

/// The fact every inside half run by [`run_net`] may report: it started in the host's
/// network namespace ([`started_in_host`]).
#[derive(Deserialize, Debug)]
struct Started {
    #[serde(default)]
    started_in_host: bool,
}

/// Run the inside half in a new network namespace (plus `launch`'s other namespaces),
/// held while the harness reads its network namespace inode; also returns whether that
/// namespace is the probe's own (not the harness's), for the check to judge as
/// [`OWN_NETNS`] after the read-only facts. The host's network namespace is added to
/// `args` (`kit::guard::args`) for [`started_in_host`]; a probe whose facts say
/// `started_in_host: true` (it created further namespaces itself) has none of its own.
fn run_net(cx: &mut Cx, launch: Launch, args: Value) -> Result<(ProbeRun, bool), Verdict> {
    let host_net = host::own_ns_inode("net")?;
    let args = guard::args(Ns::Net, args)?;
    let (run, probe_net) = cx.run_held(launch.net(), args, |run| {
        host::ns_inode(run.host_pid.expect("held"), "net")
    })?;
    let started_in_host = run.facts::<Started>()?.started_in_host;
    Ok((run, probe_net != host_net && !started_in_host))
}

/// Devices of the caller's network namespace, fallback tunnels left out: what a
/// namespace a check is about to add devices to has to begin with (only `lo`).
fn device_names() -> Vec<String> {
    let mut names: Vec<String> = view::interfaces().into_iter().map(|i| i.name).collect();
    names.sort();
    without_fallback_tunnels(names)
}

/// Judge the devices a new namespace began with (`what`: which namespace) and then
/// [`OWN_NETNS`]; true when either failed (the check then has nothing more to judge:
/// the inside half changed nothing).
fn judge_start(e: &mut Expect, what: &str, devices: &[String], own_ns: bool) -> bool {
    e.eq(what, t(&["lo"]).as_slice(), devices);
    e.eq(OWN_NETNS, true, own_ns);
    e.failed()
}

/// Whether the probe started in the host's network namespace (the argument of
/// [`run_net`]).
fn started_in_host(cx: &Inside) -> bool {
    guard::in_host_ns(cx, Ns::Net)
}

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
    controls: &[
        Control::NoNewNet,
        Control::Fault(Call::Socket),
        Control::Fault(Call::BindConnect),
    ],
    calls: &[Call::Socket, Call::BindConnect],
    global: false,
    subject: Some(crate::spec::SubjectCheck::required(net_01_subject)),
    inside: Some(net_01_inside),
    check: net_01_check,
};

fn net_01_inside(_: &Inside) -> Result<Value, StepError> {
    facts(&view::interfaces())
}

/// Judge an interface list seen in the probe's network namespace (`own_ns`: a new one,
/// not the harness's). Fallback tunnel devices created by loaded modules in a fresh
/// namespace are the environment's doing, not the kernel failing the property: that
/// case is a skip that names them and the sysctl that removes them.
pub fn judge_loopback_only(
    ifaces: &[Interface],
    fb_tunnels_sysctl: Option<u32>,
    own_ns: bool,
) -> Verdict {
    let names: Vec<&str> = ifaces.iter().map(|i| i.name.as_str()).collect();
    let extra: Vec<&str> = names.iter().copied().filter(|n| *n != "lo").collect();
    let (tunnels, others): (Vec<&str>, Vec<&str>) =
        extra.iter().partition(|n| FALLBACK_TUNNELS.contains(n));
    if own_ns && others.is_empty() && !tunnels.is_empty() && fb_tunnels_sysctl.unwrap_or(0) == 0 {
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
    e.eq(OWN_NETNS, true, own_ns);
    e.verdict("only lo, and it is down")
}

fn net_01_check(cx: &mut Cx) -> CheckResult {
    let host_net = host::own_ns_inode("net")?;
    let (run, probe_net) = cx.run_held(Launch::host().net(), Value::Null, |run| {
        host::ns_inode(run.host_pid.expect("held"), "net")
    })?;
    let ifaces: Vec<Interface> = run.facts()?;
    let sysctl = crate::env::read_u32("/proc/sys/net/core/fb_tunnels_only_for_init_net");
    let own_ns = probe_net != host_net;
    let observed = json!({ "interfaces": ifaces, "net_ns_differs_from_host": own_ns });
    Ok(judge_loopback_only(&ifaces, sysctl, own_ns).with_observed(observed))
}

/// NET-01 for a subject: the probe's network namespace, read from outside through
/// `/proc/<pid>/net/dev`, has only `lo` (a subject may have brought it up).
fn net_01_subject(o: &SubjectObservation) -> Verdict {
    let seen = match o.seen() {
        Ok(s) => s,
        Err(v) => return v,
    };
    let own_ns = seen.entered.iter().any(|n| n == Ns::Net.name());
    let mut e = Expect::new();
    e.eq(
        "network namespace of the probe differs from the host's (seen by the harness; CLONE_NEWNET)",
        true,
        own_ns,
    );
    e.eq(
        "devices seen from outside (/proc/<pid>/net/dev)",
        vec!["lo".to_string()],
        o.outside.netdev.clone(),
    );
    let inside = seen
        .net
        .as_ref()
        .map(|n| n.interfaces.clone())
        .unwrap_or_default();
    if own_ns {
        e.eq(
            "devices the harness lists inside (getifaddrs)",
            vec!["lo".to_string()],
            inside.clone(),
        );
    }
    e.verdict("only loopback")
        .with_observed(json!({ "devices": o.outside.netdev, "devices_inside": inside }))
}

// ---------------------------------------------------------------------------------
/// NET-02: devices, routes, /proc/net, /proc/sys/net and a sysfs mounted in the
/// namespace are the namespace's own. network_namespaces(7).
pub const NET_02: Property = Property {
    id: "NET-02",
    area: Area::Net,
    title: "Devices, routes, /proc/net, /proc/sys/net and a sysfs mounted in the namespace (/sys/class/net) show only the new network namespace",
    man: "network_namespaces(7)",
    prereq: Prereq::ROOTLESS.config(&["CONFIG_NET_NS"]),
    coverage: "LTP:netns_sysfs,netns_breakns,netns_comm; KST:net/*",
    controls: &[Control::NoNewNet],
    calls: &[Call::Mount],
    global: false,
    subject: None,
    inside: Some(net_02_inside),
    check: net_02_check,
};

/// What NET-02's inside half gets besides the host's network namespace: the host's
/// mount namespace (it mounts only in a mount namespace of its own).
#[derive(Serialize, Deserialize, Debug)]
struct Net02Args {
    host_mnt: u64,
}

#[derive(Serialize, Deserialize, Debug)]
struct Net02 {
    started_in_host: bool,
    proc_net_dev: Vec<String>,
    route_entries: usize,
    /// /sys/class/net of a sysfs mounted inside.
    sysfs_class_net: Option<Vec<String>>,
    /// The sysfs mount: [`OK`], its errno, or "not run".
    sysfs_mount: String,
    /// net.ipv4.ip_default_ttl read back after writing 77 inside.
    ttl_inside: Option<String>,
}

fn net_02_inside(cx: &Inside) -> Result<Value, StepError> {
    let Net02Args { host_mnt } = cx.args()?;
    let in_host_ns = started_in_host(cx);
    let mnt_own = nsfd::ns_ino("self", Ns::Mnt)? != host_mnt;
    // The read-only facts first: in the host's namespace they are the host's.
    let mut f = Net02 {
        started_in_host: in_host_ns,
        proc_net_dev: proc_net_dev("/proc/net/dev"),
        route_entries: std::fs::read_to_string("/proc/net/route")
            .unwrap_or_default()
            .lines()
            .skip(1)
            .count(),
        sysfs_class_net: None,
        sysfs_mount: "not run".to_string(),
        ttl_inside: None,
    };
    // Never write a sysctl or mount anything in the host's namespaces.
    if in_host_ns || !mnt_own {
        return facts(&f);
    }
    std::fs::write("/proc/sys/net/ipv4/ip_default_ttl", "77").step("write ip_default_ttl")?;
    f.ttl_inside = std::fs::read_to_string("/proc/sys/net/ipv4/ip_default_ttl")
        .ok()
        .map(|s| s.trim().to_string());
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        None::<&str>,
    )
    .step("make / recursively private")?;
    mount(
        Some("nsconform"),
        "/tmp",
        Some("tmpfs"),
        MsFlags::empty(),
        Some("size=64k"),
    )
    .step("mount a tmpfs on /tmp")?;
    std::fs::create_dir("/tmp/sys").step("mkdir /tmp/sys")?;
    let sysfs = mount(
        Some("sysfs"),
        "/tmp/sys",
        Some("sysfs"),
        MsFlags::empty(),
        None::<&str>,
    );
    f.sysfs_mount = res(sysfs);
    if sysfs.is_ok() {
        {
            let mut names: Vec<String> = std::fs::read_dir("/tmp/sys/class/net")
                .step("list /sys/class/net of the new sysfs")?
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect();
            names.sort();
            f.sysfs_class_net = Some(without_fallback_tunnels(names));
        }
    }
    facts(&f)
}

fn net_02_check(cx: &mut Cx) -> CheckResult {
    let ttl = || {
        std::fs::read_to_string("/proc/sys/net/ipv4/ip_default_ttl")
            .map(|s| s.trim().to_string())
            .unwrap_or_default()
    };
    let host_ttl = ttl();
    let args = json!(Net02Args {
        host_mnt: host::own_ns_inode("mnt")?,
    });
    let (run, own_ns) = run_net(cx, Launch::host().mnt(), args)?;
    let f: Net02 = run.facts()?;
    let lo = vec!["lo".to_string()];
    let mut e = Expect::new();
    e.eq("devices in /proc/net/dev", &lo, &f.proc_net_dev);
    e.eq("entries in /proc/net/route", 0, f.route_entries);
    e.eq(OWN_NETNS, true, own_ns);
    e.eq("sysfs mount inside", OK, f.sysfs_mount.as_str());
    e.eq(
        "/sys/class/net of a sysfs mounted inside",
        Some(&lo),
        f.sysfs_class_net.as_ref(),
    );
    e.eq(
        "ip_default_ttl read back inside",
        Some("77"),
        f.ttl_inside.as_deref(),
    );
    e.eq("host ip_default_ttl unchanged", host_ttl.clone(), ttl());
    Ok(
        e.verdict("devices, routes, /proc/net, sysctls and sysfs are per namespace")
            .with_observed(json!({
                "proc_net_dev": f.proc_net_dev,
                "route_entries": f.route_entries,
                "sysfs_class_net": f.sysfs_class_net,
                "ttl_inside": f.ttl_inside,
                "host_ttl_unchanged": host_ttl == ttl(),
            })),
    )
}

// ---------------------------------------------------------------------------------
/// NET-03: port numbers are per namespace: the port the host has bound can be bound
/// again in a new namespace, and again in a third. network_namespaces(7).
pub const NET_03: Property = Property {
    id: "NET-03",
    area: Area::Net,
    title: "Port numbers are per network namespace: a TCP and UDP port bound on the host can be bound at the same time in two new namespaces",
    man: "network_namespaces(7)",
    prereq: Prereq::ROOTLESS.config(&["CONFIG_NET_NS"]),
    coverage: "new",
    controls: &[Control::NoNewNet, Control::Fault(Call::Socket), Control::Fault(Call::BindConnect)],
    calls: &[Call::Unshare, Call::Socket, Call::BindConnect],
    global: false,
    subject: None,
    inside: Some(net_03_inside),
    check: net_03_check,
};

/// The ports the host has bound.
#[derive(Serialize, Deserialize, Debug)]
struct Net03Args {
    tcp: u16,
    udp: u16,
}

#[derive(Serialize, Deserialize, Debug)]
struct Net03 {
    started_in_host: bool,
    /// The host's TCP port listed as listening in /proc/net/tcp, and its UDP port in
    /// /proc/net/udp, of the probe's namespace: read before anything is bound.
    host_tcp_listed: bool,
    host_udp_listed: bool,
    tcp_bind: String,
    udp_bind: String,
    /// A second TCP bind of the same port in the same namespace.
    tcp_again_same_ns: String,
    tcp_bind_third_ns: String,
}

/// [`io_res`] of a result the caller keeps (an open socket must stay open).
fn io_ref<T>(r: &std::io::Result<T>) -> String {
    r.as_ref().err().map_or_else(|| OK.to_string(), io_errno)
}

/// Whether a /proc/net/{tcp,udp} style file lists a socket bound to local `port`, in
/// state `state` (hex, as the file writes it: 0A is TCP LISTEN) when given.
fn proc_net_lists_port(path: &str, port: u16, state: Option<&str>) -> bool {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines().skip(1).any(|l| {
        let cols: Vec<&str> = l.split_whitespace().collect();
        let local_port = cols
            .get(1)
            .and_then(|a| a.rsplit_once(':'))
            .and_then(|(_, p)| u16::from_str_radix(p, 16).ok());
        local_port == Some(port) && state.map_or(true, |s| cols.get(3) == Some(&s))
    })
}

fn net_03_inside(cx: &Inside) -> Result<Value, StepError> {
    let Net03Args { tcp, udp } = cx.args()?;
    let any = std::net::Ipv4Addr::UNSPECIFIED;
    let started_in_host = started_in_host(cx);
    let mut f = Net03 {
        started_in_host,
        host_tcp_listed: proc_net_lists_port("/proc/net/tcp", tcp, Some("0A")),
        host_udp_listed: proc_net_lists_port("/proc/net/udp", udp, None),
        tcp_bind: "not run".to_string(),
        udp_bind: "not run".to_string(),
        tcp_again_same_ns: "not run".to_string(),
        tcp_bind_third_ns: "not run".to_string(),
    };
    // Never bind in the host's namespace.
    if started_in_host {
        return facts(&f);
    }
    let t1 = std::net::TcpListener::bind((any, tcp));
    let u1 = std::net::UdpSocket::bind((any, udp));
    let again = std::net::TcpListener::bind((any, tcp));
    new_netns()?;
    let t3 = std::net::TcpListener::bind((any, tcp));
    f.tcp_bind = io_ref(&t1);
    f.udp_bind = io_ref(&u1);
    f.tcp_again_same_ns = io_ref(&again);
    f.tcp_bind_third_ns = io_ref(&t3);
    facts(&f)
}

fn net_03_check(cx: &mut Cx) -> CheckResult {
    let any = std::net::Ipv4Addr::UNSPECIFIED;
    let tcp = std::net::TcpListener::bind((any, 0))
        .map_err(|e| Verdict::error(format!("bind a TCP port on the host: {e}")))?;
    let udp = std::net::UdpSocket::bind((any, 0))
        .map_err(|e| Verdict::error(format!("bind a UDP port on the host: {e}")))?;
    let port = |a: std::io::Result<std::net::SocketAddr>| a.map(|a| a.port()).unwrap_or(0);
    let args = json!(Net03Args {
        tcp: port(tcp.local_addr()),
        udp: port(udp.local_addr()),
    });
    let (run, own_ns) = run_net(cx, Launch::host(), args)?;
    drop((tcp, udp));
    let f: Net03 = run.facts()?;
    let mut e = Expect::new();
    e.eq(
        "the host's listening TCP port listed in /proc/net/tcp of the new namespace",
        false,
        f.host_tcp_listed,
    );
    e.eq(
        "the host's UDP port listed in /proc/net/udp of the new namespace",
        false,
        f.host_udp_listed,
    );
    e.eq(OWN_NETNS, true, own_ns);
    e.eq(
        "bind of the host's TCP port in the new namespace",
        OK,
        f.tcp_bind.as_str(),
    );
    e.eq(
        "bind of the host's UDP port in the new namespace",
        OK,
        f.udp_bind.as_str(),
    );
    e.eq(
        "second bind of that TCP port in the same namespace",
        "EADDRINUSE",
        f.tcp_again_same_ns.as_str(),
    );
    e.eq(
        "bind of the same TCP port in a third namespace",
        OK,
        f.tcp_bind_third_ns.as_str(),
    );
    Ok(
        e.verdict("the same port is bound in three namespaces at once")
            .with_observed(serde_json::to_value(&f).unwrap_or_default()),
    )
}

// ---------------------------------------------------------------------------------
/// NET-04: abstract UNIX socket names are per network namespace; pathname sockets are
/// not. network_namespaces(7), unix(7).
pub const NET_04: Property = Property {
    id: "NET-04",
    area: Area::Net,
    title: "Abstract UNIX socket names are per network namespace (the host's name gives ECONNREFUSED and can be bound again); pathname sockets connect across",
    man: "network_namespaces(7); unix(7) \"Abstract sockets\"",
    prereq: Prereq::ROOTLESS.config(&["CONFIG_NET_NS"]),
    coverage: "new",
    controls: &[Control::NoNewNet, Control::Fault(Call::Socket), Control::Fault(Call::BindConnect)],
    calls: &[Call::Socket, Call::BindConnect],
    global: false,
    subject: None,
    inside: Some(net_04_inside),
    check: net_04_check,
};

/// The host's abstract socket name and pathname socket.
#[derive(Serialize, Deserialize, Debug)]
struct Net04Args {
    #[serde(rename = "abstract")]
    abstract_name: String,
    path: std::path::PathBuf,
}

#[derive(Serialize, Deserialize, Debug)]
struct Net04 {
    started_in_host: bool,
    /// The host's abstract name listed in /proc/net/unix of the probe's namespace, read
    /// before any socket is made.
    host_abstract_listed: bool,
    connect_abstract: String,
    bind_abstract: String,
    connect_pathname: String,
}

/// Whether /proc/net/unix of the caller's network namespace lists the abstract name.
fn unix_lists_abstract(path: &str, name: &str) -> bool {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let want = format!("@{name}");
    text.lines()
        .any(|l| l.split_whitespace().last() == Some(want.as_str()))
}

fn net_04_inside(cx: &Inside) -> Result<Value, StepError> {
    use std::os::linux::net::SocketAddrExt;
    use std::os::unix::net::{SocketAddr, UnixListener, UnixStream};
    let Net04Args {
        abstract_name: name,
        path,
    } = cx.args()?;
    let started_in_host = started_in_host(cx);
    let mut f = Net04 {
        started_in_host,
        host_abstract_listed: unix_lists_abstract("/proc/net/unix", &name),
        connect_abstract: "not run".to_string(),
        bind_abstract: "not run".to_string(),
        connect_pathname: "not run".to_string(),
    };
    // Never connect to or bind abstract names in the host's namespace.
    if started_in_host {
        return facts(&f);
    }
    let addr = SocketAddr::from_abstract_name(name.as_bytes()).step("build an abstract address")?;
    f.connect_abstract = io_res(UnixStream::connect_addr(&addr));
    f.bind_abstract = io_res(UnixListener::bind_addr(&addr));
    f.connect_pathname = io_res(UnixStream::connect(path));
    facts(&f)
}

fn net_04_check(cx: &mut Cx) -> CheckResult {
    use std::os::linux::net::SocketAddrExt;
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::net::{SocketAddr, UnixListener};
    let dir = cx.scratch_dir()?;
    let name = format!(
        "nsconform-net04-{}",
        dir.file_name().unwrap_or_default().to_string_lossy()
    );
    let addr = SocketAddr::from_abstract_name(name.as_bytes())
        .map_err(|e| Verdict::error(format!("abstract address: {e}")))?;
    let abstract_listener = UnixListener::bind_addr(&addr)
        .map_err(|e| Verdict::error(format!("bind abstract socket @{name} on the host: {e}")))?;
    let path = dir.join("sock");
    let path_listener = UnixListener::bind(&path)
        .map_err(|e| Verdict::error(format!("bind {}: {e}", path.display())))?;
    let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o777));
    let (run, own_ns) = run_net(
        cx,
        Launch::host(),
        json!(Net04Args {
            abstract_name: name,
            path,
        }),
    )?;
    drop((abstract_listener, path_listener));
    let f: Net04 = run.facts()?;
    let mut e = Expect::new();
    e.eq(
        "the host's abstract name listed in /proc/net/unix of the new namespace",
        false,
        f.host_abstract_listed,
    );
    e.eq(OWN_NETNS, true, own_ns);
    e.eq(
        "connect to the host's abstract name from the new namespace",
        "ECONNREFUSED",
        f.connect_abstract.as_str(),
    );
    e.eq(
        "bind of the same abstract name in the new namespace",
        OK,
        f.bind_abstract.as_str(),
    );
    e.eq(
        "connect to the host's pathname socket from the new namespace",
        OK,
        f.connect_pathname.as_str(),
    );
    Ok(
        e.verdict("abstract names are per namespace, pathname sockets are not")
            .with_errno("ECONNREFUSED")
            .with_observed(serde_json::to_value(&f).unwrap_or_default()),
    )
}

// ---------------------------------------------------------------------------------
/// NET-05: a veth pair spanning two network namespaces carries traffic, and destroying
/// one namespace destroys the veth end in it and its peer. network_namespaces(7).
pub const NET_05: Property = Property {
    id: "NET-05",
    area: Area::Net,
    title: "A veth pair spanning two network namespaces carries UDP both ways; when one namespace dies both ends of the pair disappear",
    man: "network_namespaces(7); veth(4)",
    prereq: Prereq::ROOTLESS
        .config(&["CONFIG_NET_NS"])
        .modules(&[KernelModule::VETH])
        .tools(&["ip"]),
    coverage: "LTP:netns_comm",
    controls: &[Control::NoNewNet],
    calls: &[Call::Setns, Call::Unshare, Call::CloneNs, Call::Socket, Call::BindConnect, Call::Wait, Call::Getpid, Call::Getid, Call::Sleep],
    global: false,
    subject: None,
    inside: Some(net_05_inside),
    check: net_05_check,
};

#[derive(Serialize, Deserialize, Debug, Default)]
struct Net05 {
    started_in_host: bool,
    /// Devices of namespace A (the probe's new one) before the pair is made.
    devices_before: Vec<String>,
    /// Devices of each namespace once the pair exists.
    devices_a: Vec<String>,
    devices_b: Vec<String>,
    a_to_b: bool,
    b_to_a: bool,
    /// The A end disappeared after namespace B was released.
    a_end_gone: bool,
}

fn net_05_inside(cx: &Inside) -> Result<Value, StepError> {
    use std::net::{Ipv4Addr, UdpSocket};
    use std::time::{Duration, Instant};
    let mut f = Net05 {
        started_in_host: started_in_host(cx),
        devices_before: device_names(),
        ..Net05::default()
    };
    // Never create devices in the host's namespace.
    if f.started_in_host {
        return facts(&f);
    }
    let names = |v: Vec<Interface>| v.into_iter().map(|i| i.name).collect::<Vec<_>>();
    let a = this_netns()?;
    new_netns()?;
    let b = this_netns()?;
    enter_net(&a)?;
    let b_path = format!("/proc/{}/fd/{}", nix::unistd::getpid(), b.as_raw_fd());
    ip(&[
        "link", "add", "nsc-a", "type", "veth", "peer", "name", "nsc-b", "netns", &b_path,
    ])?;
    ip(&["addr", "add", "10.251.0.1/24", "dev", "nsc-a"])?;
    ip(&["link", "set", "nsc-a", "up"])?;
    f.devices_a = names(view::interfaces());
    enter_net(&b)?;
    ip(&["addr", "add", "10.251.0.2/24", "dev", "nsc-b"])?;
    ip(&["link", "set", "nsc-b", "up"])?;
    f.devices_b = names(view::interfaces());
    let sock_b = UdpSocket::bind((Ipv4Addr::new(10, 251, 0, 2), 0)).step("bind UDP in B")?;
    enter_net(&a)?;
    let sock_a = UdpSocket::bind((Ipv4Addr::new(10, 251, 0, 1), 0)).step("bind UDP in A")?;
    for s in [&sock_a, &sock_b] {
        s.set_read_timeout(Some(Duration::from_secs(2)))
            .step("set a receive timeout")?;
    }
    let addr_b = sock_b.local_addr().step("address of B's socket")?;
    sock_a.send_to(b"ping", addr_b).step("send from A to B")?;
    let mut buf = [0u8; 16];
    if let Ok((n, from)) = sock_b.recv_from(&mut buf) {
        f.a_to_b = &buf[..n] == b"ping";
        sock_b.send_to(b"pong", from).step("send from B to A")?;
        f.b_to_a = matches!(sock_a.recv_from(&mut buf), Ok((4, _))) && &buf[..4] == b"pong";
    }
    // Release namespace B: its last references are this fd and B's socket. The kernel
    // tears network namespaces down from a workqueue: 20-60 ms here when idle, up to
    // about a second while many namespaces die at once.
    drop(sock_b);
    drop(b);
    let deadline = Instant::now() + Duration::from_secs(3);
    while Instant::now() < deadline {
        if !names(view::interfaces()).iter().any(|n| n == "nsc-a") {
            f.a_end_gone = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    facts(&f)
}

fn net_05_check(cx: &mut Cx) -> CheckResult {
    let (run, own_ns) = run_net(cx, Launch::host(), Value::Null)?;
    let f: Net05 = run.facts()?;
    let summary = "veth carries traffic across namespaces and dies with them";
    let mut e = Expect::new();
    let before =
        "devices of namespace A (the probe's new network namespace) before the pair is made";
    if judge_start(&mut e, before, &f.devices_before, own_ns) {
        return Ok(e
            .verdict(summary)
            .with_observed(json!({ "devices_before": f.devices_before })));
    }
    e.eq(
        "devices of namespace A",
        t(&["lo", "nsc-a"]),
        without_fallback_tunnels(f.devices_a.clone()),
    );
    e.eq(
        "devices of namespace B",
        t(&["lo", "nsc-b"]),
        without_fallback_tunnels(f.devices_b.clone()),
    );
    e.eq("UDP from A reached B over the veth pair", true, f.a_to_b);
    e.eq("UDP reply from B reached A", true, f.b_to_a);
    e.eq(
        "A's end of the pair disappeared when namespace B died",
        true,
        f.a_end_gone,
    );
    Ok(e.verdict(summary)
        .with_observed(serde_json::to_value(&f).unwrap_or_default()))
}

// ---------------------------------------------------------------------------------
/// NET-07: a socket stays in the network namespace it was created in; SIOCGSKNS gives
/// an fd for that namespace. network_namespaces(7); socket ioctl SIOCGSKNS (Linux 4.9).
pub const NET_07: Property = Property {
    id: "NET-07",
    area: Area::Net,
    title: "A socket stays in the network namespace where it was created after its owner moves; SIOCGSKNS returns that namespace",
    man: "network_namespaces(7); ioctl SIOCGSKNS (linux/sockios.h)",
    prereq: Prereq::ROOTLESS.kernel(4, 9).config(&["CONFIG_NET_NS"]),
    coverage: "KST:namespaces/siocgskns_test; OTH:UL lsns/netns-from-sock,nsenter/enter-via-socket",
    controls: &[Control::NoNewNet],
    calls: &[Call::Unshare, Call::Socket],
    global: false,
    subject: None,
    inside: Some(net_07_inside),
    check: net_07_check,
};

#[derive(Serialize, Deserialize, Debug)]
struct Net07 {
    started_in_host: bool,
    /// The namespace SIOCGSKNS reports for the socket created first is the harness's.
    old_socket_in_host_ns: Option<bool>,
    old_socket_in_first_ns: Option<bool>,
    new_socket_in_second_ns: Option<bool>,
    /// SIOCGSKNS on both sockets: [`OK`] or the first errno.
    errno: String,
    /// The namespace the probe started in differs from the one unshare() made.
    first_ns_differs_from_second: bool,
}

/// An unbound UDP socket of the caller's current network namespace (nothing is bound,
/// so nothing shows in the namespace).
fn udp_socket() -> Result<OwnedFd, StepError> {
    use nix::sys::socket::{socket, AddressFamily, SockFlag, SockType};
    socket(
        AddressFamily::Inet,
        SockType::Datagram,
        SockFlag::SOCK_CLOEXEC,
        None,
    )
    .step("create a UDP socket")
}

fn net_07_inside(cx: &Inside) -> Result<Value, StepError> {
    let started_in_host = started_in_host(cx);
    let host_net = cx.args["host_ns"][Ns::Net.name()].as_u64();
    let first = own_net()?;
    let old = udp_socket()?;
    new_netns()?;
    let second = own_net()?;
    let new = udp_socket()?;
    let ns_of = |fd: i32| ns::ioctl_fd(fd, ns::SIOCGSKNS).map(|f| ns::fd_ino(&f));
    let (a, b) = (ns_of(old.as_raw_fd()), ns_of(new.as_raw_fd()));
    facts(&Net07 {
        started_in_host,
        old_socket_in_host_ns: a.as_ref().ok().map(|i| Some(*i) == host_net),
        old_socket_in_first_ns: a.as_ref().ok().map(|i| *i == first),
        new_socket_in_second_ns: b.as_ref().ok().map(|i| *i == second),
        errno: res(a.and(b)),
        first_ns_differs_from_second: first != second,
    })
}

fn net_07_check(cx: &mut Cx) -> CheckResult {
    let (run, own_ns) = run_net(cx, Launch::host(), Value::Null)?;
    let f: Net07 = run.facts()?;
    let mut e = Expect::new();
    e.eq("SIOCGSKNS", OK, f.errno.as_str());
    e.that(
        "namespace SIOCGSKNS reports for the socket created before unshare (the probe's new one, not the harness's)",
        f.old_socket_in_host_ns == Some(false),
        "not the harness's",
        match f.old_socket_in_host_ns {
            Some(true) => "the harness's",
            Some(false) => "not the harness's",
            None => "no answer",
        },
    );
    e.eq(OWN_NETNS, true, own_ns);
    e.eq(
        "socket created before unshare reports the first namespace",
        Some(true),
        f.old_socket_in_first_ns,
    );
    e.eq(
        "socket created after unshare reports the second namespace",
        Some(true),
        f.new_socket_in_second_ns,
    );
    e.eq(
        "the two namespaces differ",
        true,
        f.first_ns_differs_from_second,
    );
    Ok(
        e.verdict("sockets keep their namespace; SIOCGSKNS names it")
            .with_observed(serde_json::to_value(&f).unwrap_or_default()),
    )
}

// ---------------------------------------------------------------------------------
/// NET-08: /proc/net follows the reader's current network namespace even when it was
/// looked up (dentries cached) before unshare(). proc(5).
pub const NET_08: Property = Property {
    id: "NET-08",
    area: Area::Net,
    title: "/proc/net and /proc/self/net show the current network namespace even when looked up before unshare(CLONE_NEWNET)",
    man: "proc(5) \"/proc/net\"",
    prereq: Prereq::ROOTLESS.config(&["CONFIG_NET_NS"]),
    coverage: "KST:proc/setns-dcache",
    controls: &[Control::NoNewNet],
    calls: &[Call::Unshare, Call::Socket, Call::BindConnect],
    global: false,
    subject: None,
    inside: Some(net_08_inside),
    check: net_08_check,
};

/// A name unique to the run, for the abstract sockets: the harness's is
/// `nsconform-net08-<tag>-host`, the probe's `nsconform-net08-<tag>`.
#[derive(Serialize, Deserialize, Debug)]
struct Net08Args {
    tag: String,
}

#[derive(Serialize, Deserialize, Debug)]
struct Net08 {
    started_in_host: bool,
    /// Whether the harness's abstract socket is listed, per path, read before anything
    /// else.
    host_listed: BTreeMap<String, bool>,
    /// Whether the abstract socket bound in the first namespace is listed, per path,
    /// before and after the unshare (empty when not run).
    before: BTreeMap<String, bool>,
    after: BTreeMap<String, bool>,
}

fn net_08_inside(cx: &Inside) -> Result<Value, StepError> {
    use std::os::linux::net::SocketAddrExt;
    use std::os::unix::net::{SocketAddr, UnixListener};
    let started_in_host = started_in_host(cx);
    let Net08Args { tag } = cx.args()?;
    let name = format!("nsconform-net08-{tag}");
    let paths = ["/proc/net/unix", "/proc/self/net/unix"];
    let look = |name: &str| -> BTreeMap<String, bool> {
        paths
            .iter()
            .map(|p| (p.to_string(), unix_lists_abstract(p, name)))
            .collect()
    };
    let mut f = Net08 {
        started_in_host,
        host_listed: look(&format!("{name}-host")),
        before: BTreeMap::new(),
        after: BTreeMap::new(),
    };
    // Never bind an abstract name in the host's namespace.
    if started_in_host {
        return facts(&f);
    }
    let addr = SocketAddr::from_abstract_name(name.as_bytes()).step("abstract address")?;
    let _l = UnixListener::bind_addr(&addr).step("bind an abstract socket")?;
    f.before = look(&name);
    new_netns()?;
    f.after = look(&name);
    facts(&f)
}

fn net_08_check(cx: &mut Cx) -> CheckResult {
    use std::os::linux::net::SocketAddrExt;
    use std::os::unix::net::{SocketAddr, UnixListener};
    // Unique to this check in this process (trials of one harness run side by side).
    let tag = crate::cleanup::unique_name();
    let host_name = format!("nsconform-net08-{tag}-host");
    let addr = SocketAddr::from_abstract_name(host_name.as_bytes())
        .map_err(|e| Verdict::error(format!("abstract address: {e}")))?;
    let host_listener = UnixListener::bind_addr(&addr).map_err(|e| {
        Verdict::error(format!(
            "bind abstract socket @{host_name} on the host: {e}"
        ))
    })?;
    let (run, own_ns) = run_net(cx, Launch::host(), json!(Net08Args { tag }))?;
    drop(host_listener);
    let f: Net08 = run.facts()?;
    let mut e = Expect::new();
    for (p, seen) in &f.host_listed {
        e.eq(
            &format!("the harness's abstract socket listed in {p} of the new namespace"),
            false,
            *seen,
        );
    }
    e.eq(OWN_NETNS, true, own_ns);
    for (p, seen) in &f.before {
        e.eq(
            &format!("socket listed in {p} in its own namespace"),
            true,
            *seen,
        );
    }
    for (p, seen) in &f.after {
        e.eq(
            &format!("socket listed in {p} after unshare (cached lookup)"),
            false,
            *seen,
        );
    }
    Ok(e.verdict("/proc/net follows the current namespace")
        .with_observed(serde_json::to_value(&f).unwrap_or_default()))
}

// ---------------------------------------------------------------------------------
/// NET-09: a device name is per namespace: two namespaces can each have one of the
/// same name, but moving a device into a namespace that already has its name or
/// altname fails. rtnetlink(7); ip-link(8).
pub const NET_09: Property = Property {
    id: "NET-09",
    area: Area::Net,
    title: "The same device name exists in two network namespaces at once; moving a device into a namespace where its name or altname is taken fails (EEXIST) and leaves it in place",
    man: "network_namespaces(7); rtnetlink(7); ip-link(8) \"netns\"",
    prereq: Prereq::ROOTLESS
        .config(&["CONFIG_NET_NS"])
        .modules(&[KernelModule::VETH])
        .tools(&["ip"]),
    coverage: "KST:net/netns-name.sh",
    controls: &[Control::NoNewNet],
    calls: &[Call::Setns, Call::Unshare, Call::CloneNs, Call::Socket, Call::BindConnect, Call::Wait, Call::Getid],
    global: false,
    subject: None,
    inside: Some(net_09_inside),
    check: net_09_check,
};

#[derive(Serialize, Deserialize, Debug, Default)]
struct Net09 {
    started_in_host: bool,
    /// Devices of namespace A (the probe's new one) before any is added.
    devices_before: Vec<String>,
    same_name_in_both: bool,
    /// Result of moving A's `nsc-x` into B, which has an `nsc-x`.
    move_name_clash: String,
    /// Result of moving A's `nsc-z` into B, where `nsc-z` is the altname of nsc-y
    /// ("not run" without altname support).
    move_altname_clash: String,
    altname_supported: bool,
    still_in_a: bool,
}

/// Move the device `name` of the caller's namespace into the namespace of `ns_fd` with
/// one RTM_NEWLINK request (IFLA_NET_NS_FD): [`OK`] or the errno rtnetlink acked with.
fn move_link(name: &str, ns_fd: i32) -> Result<String, StepError> {
    use nix::sys::socket::{socket, AddressFamily, SockFlag, SockProtocol, SockType};
    let index = nix::net::if_::if_nametoindex(name).step(&format!("find device {name}"))?;
    // nlmsghdr (16) + ifinfomsg (16) + one u32 attribute (8).
    let mut msg = Vec::with_capacity(40);
    msg.extend_from_slice(&40u32.to_ne_bytes());
    msg.extend_from_slice(&libc::RTM_NEWLINK.to_ne_bytes());
    msg.extend_from_slice(&((libc::NLM_F_REQUEST | libc::NLM_F_ACK) as u16).to_ne_bytes());
    msg.extend_from_slice(&1u32.to_ne_bytes()); // sequence number
    msg.extend_from_slice(&0u32.to_ne_bytes()); // port id: the kernel fills it in
    msg.extend_from_slice(&[libc::AF_UNSPEC as u8, 0, 0, 0]);
    msg.extend_from_slice(&(index as i32).to_ne_bytes());
    msg.extend_from_slice(&0u32.to_ne_bytes()); // flags
    msg.extend_from_slice(&0u32.to_ne_bytes()); // change mask
    msg.extend_from_slice(&8u16.to_ne_bytes());
    msg.extend_from_slice(&libc::IFLA_NET_NS_FD.to_ne_bytes());
    msg.extend_from_slice(&(ns_fd as u32).to_ne_bytes());
    let sock = socket(
        AddressFamily::Netlink,
        SockType::Raw,
        SockFlag::SOCK_CLOEXEC,
        SockProtocol::NetlinkRoute,
    )
    .step("create a NETLINK_ROUTE socket")?;
    nix::sys::socket::send(sock.as_raw_fd(), &msg, nix::sys::socket::MsgFlags::empty())
        .step("send RTM_NEWLINK")?;
    let mut buf = vec![0u8; 8192];
    let n = nix::sys::socket::recv(
        sock.as_raw_fd(),
        &mut buf,
        nix::sys::socket::MsgFlags::empty(),
    )
    .step("read the rtnetlink ack")?;
    let kind = u16::from_ne_bytes([buf[4], buf[5]]);
    if n < 20 || kind != libc::NLMSG_ERROR as u16 {
        return Err(StepError::new(
            "read the rtnetlink ack",
            None,
            "no NLMSG_ERROR message",
        ));
    }
    let err = i32::from_ne_bytes([buf[16], buf[17], buf[18], buf[19]]);
    Ok(if err == 0 {
        OK.to_string()
    } else {
        crate::probe::errno_name(nix::errno::Errno::from_raw(-err))
    })
}

fn net_09_inside(cx: &Inside) -> Result<Value, StepError> {
    let mut f = Net09 {
        started_in_host: started_in_host(cx),
        devices_before: device_names(),
        move_name_clash: "not run".to_string(),
        move_altname_clash: "not run".to_string(),
        ..Net09::default()
    };
    if f.started_in_host {
        return facts(&f);
    }
    let names = || {
        view::interfaces()
            .into_iter()
            .map(|i| i.name)
            .collect::<Vec<_>>()
    };
    let a = this_netns()?;
    new_netns()?;
    let b = this_netns()?;
    ip(&[
        "link", "add", "nsc-x", "type", "veth", "peer", "name", "nsc-y",
    ])?;
    // An altname needs kernel 5.5 and a recent ip; without it that half is not judged.
    f.altname_supported = ip(&[
        "link", "property", "add", "dev", "nsc-y", "altname", "nsc-z",
    ])
    .is_ok();
    let b_has = names();
    enter_net(&a)?;
    ip(&[
        "link", "add", "nsc-x", "type", "veth", "peer", "name", "nsc-z",
    ])?;
    f.same_name_in_both =
        b_has.iter().any(|n| n == "nsc-x") && names().iter().any(|n| n == "nsc-x");
    f.move_name_clash = move_link("nsc-x", b.as_raw_fd())?;
    if f.altname_supported {
        f.move_altname_clash = move_link("nsc-z", b.as_raw_fd())?;
    }
    let now = names();
    f.still_in_a = now.iter().any(|n| n == "nsc-x") && now.iter().any(|n| n == "nsc-z");
    facts(&f)
}

fn net_09_check(cx: &mut Cx) -> CheckResult {
    let (run, own_ns) = run_net(cx, Launch::host(), Value::Null)?;
    let f: Net09 = run.facts()?;
    let summary = "names are per namespace; clashing moves are refused";
    let eexist = "EEXIST".to_string();
    let mut e = Expect::new();
    let before = "devices of namespace A (the probe's new network namespace) before any is added";
    if judge_start(&mut e, before, &f.devices_before, own_ns) {
        return Ok(e
            .verdict(summary)
            .with_observed(json!({ "devices_before": f.devices_before })));
    }
    e.eq(
        "nsc-x exists in both namespaces at once",
        true,
        f.same_name_in_both,
    );
    e.eq(
        "moving nsc-x into a namespace that has an nsc-x",
        &eexist,
        &f.move_name_clash,
    );
    if f.altname_supported {
        e.eq(
            "moving nsc-z into a namespace where nsc-z is an altname",
            &eexist,
            &f.move_altname_clash,
        );
    }
    e.eq(
        "the refused devices stay in their namespace",
        true,
        f.still_in_a,
    );
    Ok(e.verdict(summary)
        .with_errno("EEXIST")
        .with_observed(serde_json::to_value(&f).unwrap_or_default()))
}

// ---------------------------------------------------------------------------------
/// NET-10: rtnetlink multicast notifications (RTMGRP_LINK) reach only listeners in the
/// namespace where the event happened. netlink(7), rtnetlink(7).
pub const NET_10: Property = Property {
    id: "NET-10",
    area: Area::Net,
    title: "rtnetlink link notifications (RTMGRP_LINK) are delivered only to listeners in the network namespace where the link changed",
    man: "netlink(7); rtnetlink(7)",
    prereq: Prereq::ROOTLESS
        .config(&["CONFIG_NET_NS"])
        .modules(&[KernelModule::VETH])
        .tools(&["ip"]),
    coverage: "LTP:netns_netlink",
    controls: &[Control::NoNewNet],
    calls: &[Call::Setns, Call::Unshare, Call::CloneNs, Call::Socket, Call::BindConnect, Call::Wait, Call::Getid],
    global: false,
    subject: None,
    inside: Some(net_10_inside),
    check: net_10_check,
};

#[derive(Serialize, Deserialize, Debug, Default)]
struct Net10 {
    started_in_host: bool,
    /// Devices of namespace A (the probe's new one, where the first listener is) before
    /// any link changes.
    devices_before: Vec<String>,
    /// Notifications queued on the listener in the namespace where the link was made.
    same_ns_messages: usize,
    /// ... and on the listener in the other namespace.
    other_ns_messages: usize,
}

/// A NETLINK_ROUTE socket subscribed to RTMGRP_LINK in the caller's namespace.
fn link_listener() -> Result<OwnedFd, StepError> {
    use nix::sys::socket::{
        bind, socket, AddressFamily, NetlinkAddr, SockFlag, SockProtocol, SockType,
    };
    let fd = socket(
        AddressFamily::Netlink,
        SockType::Raw,
        SockFlag::SOCK_CLOEXEC | SockFlag::SOCK_NONBLOCK,
        SockProtocol::NetlinkRoute,
    )
    .step("create a NETLINK_ROUTE socket")?;
    bind(
        fd.as_raw_fd(),
        &NetlinkAddr::new(0, libc::RTMGRP_LINK as u32),
    )
    .step("bind it to RTMGRP_LINK")?;
    Ok(fd)
}

/// How many datagrams are queued on a non-blocking socket.
fn drain(fd: &OwnedFd) -> usize {
    let mut buf = vec![0u8; 65536];
    let mut n = 0;
    while nix::sys::socket::recv(
        fd.as_raw_fd(),
        &mut buf,
        nix::sys::socket::MsgFlags::MSG_DONTWAIT,
    )
    .is_ok()
    {
        n += 1;
    }
    n
}

fn net_10_inside(cx: &Inside) -> Result<Value, StepError> {
    let mut f = Net10 {
        started_in_host: started_in_host(cx),
        devices_before: device_names(),
        ..Net10::default()
    };
    if f.started_in_host {
        return facts(&f);
    }
    let a = this_netns()?;
    let listen_a = link_listener()?;
    new_netns()?;
    let listen_b = link_listener()?;
    ip(&[
        "link", "add", "nsc-e", "type", "veth", "peer", "name", "nsc-f",
    ])?;
    enter_net(&a)?;
    f.same_ns_messages = drain(&listen_b);
    f.other_ns_messages = drain(&listen_a);
    facts(&f)
}

fn net_10_check(cx: &mut Cx) -> CheckResult {
    let (run, own_ns) = run_net(cx, Launch::host(), Value::Null)?;
    let f: Net10 = run.facts()?;
    let summary = "link notifications stay in their namespace";
    let mut e = Expect::new();
    let before =
        "devices of namespace A (the probe's new network namespace) before any link changes";
    if judge_start(&mut e, before, &f.devices_before, own_ns) {
        return Ok(e
            .verdict(summary)
            .with_observed(json!({ "devices_before": f.devices_before })));
    }
    e.that(
        "link notifications received in the namespace of the change",
        f.same_ns_messages > 0,
        "at least one",
        f.same_ns_messages.to_string(),
    );
    e.eq(
        "link notifications received in the other namespace",
        0,
        f.other_ns_messages,
    );
    Ok(e.verdict(summary).with_observed(json!({
        "same_ns_received": f.same_ns_messages > 0,
        "other_ns_messages": f.other_ns_messages,
    })))
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
            judge_loopback_only(&[iface("lo", false)], Some(0), true).outcome,
            Outcome::Pass
        );
    }

    #[test]
    fn lo_up_fails() {
        let v = judge_loopback_only(&[iface("lo", true)], Some(0), true);
        assert_eq!(v.outcome, Outcome::Fail);
        assert!(v.detail.contains("lo is down"));
    }

    #[test]
    fn fallback_tunnels_are_named_and_skipped() {
        let v = judge_loopback_only(&[iface("lo", false), iface("sit0", false)], Some(0), true);
        assert_eq!(v.outcome, Outcome::Skip);
        assert!(v.detail.contains("sit0") && v.detail.contains("fb_tunnels_only_for_init_net"));
    }

    #[test]
    fn tunnels_despite_sysctl_fail() {
        let v = judge_loopback_only(&[iface("lo", false), iface("sit0", false)], Some(2), true);
        assert_eq!(v.outcome, Outcome::Fail);
    }

    #[test]
    fn host_devices_fail() {
        let v = judge_loopback_only(&[iface("lo", true), iface("eth0", true)], Some(0), false);
        assert_eq!(v.outcome, Outcome::Fail);
        assert!(v.detail.contains("CLONE_NEWNET"));
        assert!(v.at.as_deref().is_some_and(|a| a.starts_with("devices")));
    }

    #[test]
    fn host_namespace_with_tunnels_fails_not_skips() {
        let v = judge_loopback_only(&[iface("lo", false), iface("sit0", false)], Some(0), false);
        assert_eq!(v.outcome, Outcome::Fail);
    }

    #[test]
    fn host_namespace_with_lo_down_alone_fails() {
        let v = judge_loopback_only(&[iface("lo", false)], Some(0), false);
        assert_eq!(v.outcome, Outcome::Fail);
        assert_eq!(v.at.as_deref(), Some(OWN_NETNS));
    }
}

// ---------------------------------------------------------------------------------
/// NET-11: SO_NETNS_COOKIE is the same for sockets of one namespace, differs between
/// namespaces and equals NS_GET_ID of the namespace (6.18). socket(7).
pub const NET_11: Property = Property {
    id: "NET-11",
    area: Area::Net,
    title: "SO_NETNS_COOKIE is the same for every socket of a network namespace, differs between namespaces, and equals NS_GET_ID (6.18)",
    man: "socket(7) SO_NETNS_COOKIE; uapi linux/nsfs.h NS_GET_ID",
    prereq: Prereq::ROOTLESS.kernel(5, 14).config(&["CONFIG_NET_NS"]),
    coverage: "KST:namespaces/nsid_test,net/so_netns_cookie",
    controls: &[Control::NoNewNet, Control::Fault(Call::NsIoctl)],
    calls: &[Call::NsIoctl, Call::Unshare, Call::Socket],
    global: false,
    subject: None,
    inside: Some(net_11_inside),
    check: net_11_check,
};

/// SO_NETNS_COOKIE of asm-generic/socket.h.
const SO_NETNS_COOKIE: i32 = 71;

fn netns_cookie(fd: i32) -> Result<u64, nix::errno::Errno> {
    let mut v: u64 = 0;
    let mut len = std::mem::size_of::<u64>() as libc::socklen_t;
    // SAFETY: getsockopt into a u64 of the given length.
    let r = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            SO_NETNS_COOKIE,
            &mut v as *mut u64 as *mut libc::c_void,
            &mut len,
        )
    };
    nix::errno::Errno::result(r).map(|_| v)
}

/// The cookie of a socket of the harness's network namespace.
#[derive(Serialize, Deserialize, Debug)]
struct Net11Args {
    harness_cookie: u64,
}

#[derive(Serialize, Deserialize, Debug)]
struct Net11 {
    started_in_host: bool,
    /// The cookie of the sockets of the namespace the probe started in differs from
    /// the harness's.
    differs_from_harness: bool,
    same_in_one_ns: bool,
    differs_between_ns: bool,
    /// NS_GET_ID of /proc/self/ns/net equals the cookie, in both namespaces; None
    /// when NS_GET_ID is missing (errno in `ns_get_id_errno`).
    equals_ns_get_id: Option<bool>,
    /// NS_GET_ID in both namespaces: [`OK`] or the first errno.
    ns_get_id_errno: String,
}

fn net_11_inside(cx: &Inside) -> Result<Value, StepError> {
    let started_in_host = started_in_host(cx);
    let Net11Args { harness_cookie } = cx.args()?;
    let sock = udp_socket;
    let ns_id = || -> Result<u64, nix::errno::Errno> {
        let f = std::fs::File::open("/proc/self/ns/net").map_err(|_| nix::errno::Errno::ENOENT)?;
        ns::ioctl_u64(f.as_raw_fd(), ns::NS_GET_ID)
    };
    let (a1, a2) = (sock()?, sock()?);
    let ca1 = netns_cookie(a1.as_raw_fd()).step("getsockopt(SO_NETNS_COOKIE)")?;
    let ca2 = netns_cookie(a2.as_raw_fd()).step("getsockopt(SO_NETNS_COOKIE)")?;
    let id_a = ns_id();
    new_netns()?;
    let b = sock()?;
    let cb = netns_cookie(b.as_raw_fd()).step("getsockopt(SO_NETNS_COOKIE)")?;
    let id_b = ns_id();
    let (equals_ns_get_id, ns_get_id_errno) = match (id_a, id_b) {
        (Ok(x), Ok(y)) => (Some(x == ca1 && y == cb), OK.to_string()),
        (Err(e), _) | (_, Err(e)) => (None, res::<()>(Err(e))),
    };
    facts(&Net11 {
        started_in_host,
        differs_from_harness: ca1 != harness_cookie,
        same_in_one_ns: ca1 == ca2,
        differs_between_ns: ca1 != cb,
        equals_ns_get_id,
        ns_get_id_errno,
    })
}

fn net_11_check(cx: &mut Cx) -> CheckResult {
    let harness_cookie = udp_socket()
        .map_err(|e| Verdict::error(format!("a UDP socket in the harness: {e}")))
        .and_then(|s| {
            netns_cookie(s.as_raw_fd()).map_err(|e| {
                Verdict::error(format!(
                    "getsockopt(SO_NETNS_COOKIE) in the harness failed with {}",
                    crate::probe::errno_name(e)
                ))
            })
        })?;
    let (run, own_ns) = run_net(cx, Launch::host(), json!(Net11Args { harness_cookie }))?;
    let f: Net11 = run.facts()?;
    let mut e = Expect::new();
    e.eq(
        "cookie of the probe's new namespace differs from the harness's namespace's",
        true,
        f.differs_from_harness,
    );
    e.eq(OWN_NETNS, true, own_ns);
    e.eq(
        "cookie of two sockets of one namespace is the same",
        true,
        f.same_in_one_ns,
    );
    e.eq(
        "cookies of two namespaces differ",
        true,
        f.differs_between_ns,
    );
    if matches!(cx.env.version, Some(v) if v >= crate::env::KernelVersion(6, 18, 0)) {
        e.eq(
            "SO_NETNS_COOKIE equals NS_GET_ID",
            Some(true),
            f.equals_ns_get_id,
        );
    }
    Ok(e.verdict("the cookie identifies the network namespace")
        .with_observed(serde_json::to_value(&f).unwrap_or_default()))
}

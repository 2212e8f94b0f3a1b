//! `nsconform-probe`: the single-threaded helper that creates namespaces and reports what
//! it sees from inside. See `nsconform_core::probe`.

fn main() {
    nsconform_core::probe_main()
}

// libtorch has one global random generator: tests that seed it (determinism, random init) must not run while
// another test draws from it, so test classes run one at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]

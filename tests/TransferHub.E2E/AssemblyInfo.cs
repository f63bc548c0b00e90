// Each test class starts its own web app (and some a worker) and drives Chromium: on a 2-core machine three of them at
// once made single steps outlast Playwright's 5 s expectations. One class at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]

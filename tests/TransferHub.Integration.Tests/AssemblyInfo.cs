// Each test class hosts a web app and a real worker (libtorch, the pretrained backbone): one at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]

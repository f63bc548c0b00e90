using System.Diagnostics;
using TorchSharp;
using TransferHub.Worker.V1;
using static TorchSharp.torch;

namespace TransferHub.Worker.Engine;

/// <summary>The initialised libtorch: which device jobs run on, and how it is described to the web.</summary>
public sealed class TorchRuntime
{
    private TorchRuntime(Device device, DeviceKind kind, string deviceName, long memoryBytes, int threads)
    {
        Device = device;
        Kind = kind;
        DeviceName = deviceName;
        MemoryBytes = memoryBytes;
        Threads = threads;
    }

    public Device Device { get; }
    public DeviceKind Kind { get; }
    public string DeviceName { get; }
    public long MemoryBytes { get; }
    public int Threads { get; }
    public static string TorchVersion => torch.__version__;

    /// <summary>Loads libtorch, sets the thread count and picks the device; throws with a clear message when
    /// the configuration asks for a device this build or machine cannot provide.</summary>
    public static TorchRuntime Initialize(WorkerOptions options, ILogger logger)
    {
        var threads = options.TorchThreads > 0 ? options.TorchThreads : Environment.ProcessorCount;
        torch.set_num_threads(threads);
        if (NativeAllocator.Configure())
            logger.LogInformation("glibc malloc: blocks under {Mmap} MiB from the heap, up to {Trim} MiB of free heap kept between training steps",
                NativeAllocator.MmapThresholdBytes >> 20, NativeAllocator.TrimThresholdBytes >> 20);
        var cuda = torch.cuda.is_available();
        if (options.Device == DevicePreference.Cuda && !cuda)
            throw new InvalidOperationException(
                "Worker:Device is 'Cuda' but libtorch reports no CUDA device. Build with -p:TorchBackend=cuda on a machine " +
                "with an NVIDIA driver, or set Worker:Device to 'Auto' or 'Cpu'.");

        TorchRuntime runtime = cuda && options.Device != DevicePreference.Cpu
            ? new TorchRuntime(torch.CUDA, DeviceKind.Cuda, QueryGpu().Name, QueryGpu().MemoryBytes, threads)
            : new TorchRuntime(torch.CPU, DeviceKind.Cpu, $"CPU ({Environment.ProcessorCount} cores)",
                GC.GetGCMemoryInfo().TotalAvailableMemoryBytes, threads);
        logger.LogInformation("libtorch {Version} on {Device} ({Threads} threads)", TorchVersion, runtime.DeviceName, threads);
        return runtime;
    }

    private static (string Name, long MemoryBytes) QueryGpu()
    {
        try
        {
            using var process = Process.Start(new ProcessStartInfo("nvidia-smi", "--query-gpu=name,memory.total --format=csv,noheader,nounits")
            {
                RedirectStandardOutput = true,
                UseShellExecute = false,
            });
            var line = process!.StandardOutput.ReadLine() ?? "";
            process.WaitForExit(5000);
            var parts = line.Split(',', StringSplitOptions.TrimEntries);
            return (parts[0], long.Parse(parts[1]) * 1024 * 1024);
        }
        catch (Exception)
        {
            return ("CUDA device 0", 0);
        }
    }
}

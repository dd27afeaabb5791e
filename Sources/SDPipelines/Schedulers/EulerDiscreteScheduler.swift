// EulerDiscreteScheduler (s_churn = 0, so no noise is drawn): diffusers
// schedulers/scheduling_euler_discrete.py. Fractional timesteps go to the UNet as they are.
import SDCore
import SDModels

/// The σ table and bookkeeping shared by the Euler schedulers.
final class SigmaTable {
    let schedule: NoiseSchedule
    private(set) var timesteps: [Float] = []
    private(set) var sigmas: [Float] = []        // one per timestep, then a final 0
    var stepIndex: Int?
    var beginIndex: Int?

    init(_ r: ConfigReader) throws {
        schedule = try NoiseSchedule(r, defaultSpacing: .linspace)
        if try r.bool("use_karras_sigmas", default: false) {
            throw SDError.badFile(path: r.path, message: "use_karras_sigmas is supported for DPM-Solver only")
        }
        if let it = try r.optionalString("interpolation_type"), it != "linear" {
            throw SDError.badFile(path: r.path, message: "interpolation_type \(it) is not supported")
        }
        // "continuous" (EDM-style 0.25·ln σ timesteps) would feed the UNet other timesteps.
        if let tt = try r.optionalString("timestep_type"), tt != "discrete" {
            throw SDError.badFile(path: r.path, message: "timestep_type \(tt) is not supported (discrete)")
        }
    }

    func set(_ n: Int) throws {
        guard n >= 1 && n <= schedule.trainSteps else { throw SDError.invalidInput("steps must be 1…\(schedule.trainSteps)") }
        let T = schedule.trainSteps
        let ts: [Float]
        switch schedule.spacing {
        case .linspace: ts = numpyLinspace(0, Double(T - 1), n).map { Float($0) }.reversed()
        case .leading: ts = (0..<n).reversed().map { Float($0 * (T / n) + schedule.stepsOffset) }
        case .trailing:
            ts = stride(from: Double(T), to: 0, by: -Double(T) / Double(n)).map { Float($0.rounded(.toNearestOrEven) - 1) }
        }
        let train = schedule.sigmas
        timesteps = ts
        sigmas = ts.map { Float(numpyInterp(Double($0), train)) } + [0]
        stepIndex = nil
        beginIndex = nil
    }

    var initNoiseSigma: Float {
        let m = sigmas.max() ?? 1
        return schedule.spacing == .leading ? (m * m + 1).squareRoot() : m
    }

    /// diffusers _init_step_index: the begin index if set, else the timestep's position
    /// (the second match when it occurs twice).
    func index(for t: Float) -> Int {
        if let i = stepIndex { return i }
        if let b = beginIndex { stepIndex = b; return b }
        let matches = timesteps.indices.filter { timesteps[$0] == t }
        let i = matches.count > 1 ? matches[1] : (matches.first ?? 0)
        stepIndex = i
        return i
    }

    func scale(_ x: Tensor, _ t: Float) -> Tensor {
        let s = sigmas[index(for: t)]
        return x / (s * s + 1).squareRoot()
    }

    /// x0 from the model output at σ.
    func denoised(_ m: Tensor, _ x: Tensor, sigma s: Float) -> Tensor {
        switch schedule.prediction {
        case .epsilon: return x - s * m
        case .vPrediction: return m * (-s / (s * s + 1).squareRoot()) + x / (s * s + 1)
        }
    }

    /// diffusers add_noise: σ at the current step once stepping has begun (inpainting's per-step
    /// re-noising), else at the begin index (img2img's start), else at the timestep's position.
    func addNoise(_ x0: Tensor, _ noise: Tensor, timestep t: Float) -> Tensor {
        let i = stepIndex ?? beginIndex ?? {
            let matches = timesteps.indices.filter { timesteps[$0] == t }
            return matches.count > 1 ? matches[1] : (matches.first ?? 0)
        }()
        return x0 + noise * sigmas[i]
    }
}

/// The Euler schedulers differ only in `step`; everything else is their σ table.
protocol SigmaTableScheduler: Scheduler {
    var table: SigmaTable { get }
}

extension SigmaTableScheduler {
    public var timesteps: [Float] { table.timesteps }
    public var order: Int { 1 }
    public var initNoiseSigma: Float { table.initNoiseSigma }
    public func setTimesteps(_ n: Int) throws { try table.set(n) }
    public func setBeginIndex(_ index: Int) { table.beginIndex = index }
    public func scaleModelInput(_ sample: Tensor, timestep: Float) -> Tensor { table.scale(sample, timestep) }
    public func addNoise(_ original: Tensor, noise: Tensor, timestep: Float) -> Tensor { table.addNoise(original, noise, timestep: timestep) }
}

public final class EulerDiscreteScheduler: SigmaTableScheduler {
    let table: SigmaTable

    init(_ r: ConfigReader) throws { table = try SigmaTable(r) }

    public func step(_ m: Tensor, timestep: Float, sample x: Tensor, generator: TorchGenerator) -> Tensor {
        let i = table.index(for: timestep)
        let sigma = table.sigmas[i]
        let x0 = table.denoised(m, x, sigma: sigma)
        let derivative = (x - x0) / sigma
        let dt = table.sigmas[i + 1] - sigma
        table.stepIndex = i + 1
        return x + derivative * dt
    }
}

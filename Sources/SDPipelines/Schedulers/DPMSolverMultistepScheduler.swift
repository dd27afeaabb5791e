// DPMSolverMultistepScheduler with its defaults — DPM-Solver++ 2M, midpoint, lower_order_final,
// final sigma 0 — optionally with Karras sigmas: diffusers schedulers/scheduling_dpmsolver_multistep.py.
import Foundation
import SDCore
import SDModels

public final class DPMSolverMultistepScheduler: Scheduler {
    let schedule: NoiseSchedule
    let karras: Bool
    public private(set) var timesteps: [Float] = []
    var sigmas: [Float] = []
    public let order = 1
    public let initNoiseSigma: Float = 1
    var previousX0: Tensor?
    var lowerOrderNums = 0
    var stepIndex: Int?
    var beginIndex: Int?

    /// `karras`: force use_karras_sigmas (the dpm++2m-karras choice); nil reads it from the config.
    init(_ r: ConfigReader, karras: Bool?) throws {
        schedule = try NoiseSchedule(r, defaultSpacing: .linspace)
        self.karras = try karras ?? r.bool("use_karras_sigmas", default: false)
        let checks: [(String, String)] = [("algorithm_type", "dpmsolver++"), ("solver_type", "midpoint"), ("final_sigmas_type", "zero")]
        for (key, want) in checks {
            if let v = try r.optionalString(key), v != want {
                throw SDError.badFile(path: r.path, message: "\(key) \(v) is not supported (\(want))")
            }
        }
        if try r.int("solver_order", default: 2, range: 1...3) != 2 {
            throw SDError.badFile(path: r.path, message: "solver_order must be 2")
        }
    }

    public func setTimesteps(_ n: Int) throws {
        let T = schedule.trainSteps
        guard n >= 1 && n <= T else { throw SDError.invalidInput("steps must be 1…\(T)") }
        var ts: [Double]
        switch schedule.spacing {
        case .linspace: ts = numpyLinspace(0, Double(T - 1), n + 1).map { $0.rounded(.toNearestOrEven) }.reversed().dropLast()
        case .leading:
            let ratio = T / (n + 1)
            // diffusers' leading spacing for DPM uses T // (n + 1): 0 at n ≥ T, which makes every
            // timestep equal and the solver divide by a zero log-σ step (NaN).
            guard ratio >= 1 else {
                throw SDError.invalidInput("--steps \(n) is too many for this scheduler (leading spacing over "
                                           + "num_train_timesteps \(T)); use fewer steps")
            }
            ts = (0...n).reversed().map { Double($0 * ratio + schedule.stepsOffset) }.dropLast()
        case .trailing:
            ts = stride(from: Double(T), to: 0, by: -Double(T) / Double(n)).map { $0.rounded(.toNearestOrEven) - 1 }
        }
        let train = schedule.sigmas
        var s: [Double]
        if karras {
            // _convert_to_karras (ρ = 7) on the flipped table, then _sigma_to_t for each σ.
            let sMin = Double(train[0]), sMax = Double(train[T - 1])
            let rho = 7.0
            let minInv = pow(sMin, 1 / rho), maxInv = pow(sMax, 1 / rho)
            s = numpyLinspace(0, 1, n).map { pow(maxInv + $0 * (minInv - maxInv), rho) }
            let logs = train.map { Foundation.log($0) }   // float32 log, as np.log on a float32 array
            ts = s.map { sigmaToT($0, logs).rounded(.toNearestOrEven) }
        } else {
            s = ts.map { numpyInterp($0, train) }
        }
        timesteps = ts.map { Float($0) }
        sigmas = s.map { Float($0) } + [0]
        previousX0 = nil
        lowerOrderNums = 0
        stepIndex = nil
        beginIndex = nil
    }

    /// diffusers _sigma_to_t: piecewise-linear position of log σ in the float32 log-σ table.
    func sigmaToT(_ sigma: Double, _ logs: [Float]) -> Double {
        let ls = Foundation.log(max(sigma, 1e-10))
        var low = 0
        for (i, l) in logs.enumerated() where ls - Double(l) >= 0 { low = i }
        low = min(low, logs.count - 2)
        let lo = Double(logs[low]), hi = Double(logs[low + 1])
        let w = min(max((lo - ls) / (lo - hi), 0), 1)
        return (1 - w) * Double(low) + w * Double(low + 1)
    }

    public func setBeginIndex(_ index: Int) { beginIndex = index }
    public func scaleModelInput(_ sample: Tensor, timestep: Float) -> Tensor { sample }

    func index(for t: Float) -> Int {
        if let i = stepIndex { return i }
        if let b = beginIndex { stepIndex = b; return b }
        let matches = timesteps.indices.filter { timesteps[$0] == t }
        let i = matches.count > 1 ? matches[1] : (matches.first ?? timesteps.count - 1)
        stepIndex = i
        return i
    }

    /// α(σ) = 1/√(σ²+1), s(σ) = σ·α(σ).
    func alphaSigma(_ sigma: Float) -> (Float, Float) {
        let a = 1 / (sigma * sigma + 1).squareRoot()
        return (a, sigma * a)
    }

    public func step(_ m: Tensor, timestep: Float, sample x: Tensor, generator: TorchGenerator) -> Tensor {
        let i = index(for: timestep)
        let lowerOrderFinal = i == timesteps.count - 1   // final_sigmas_type "zero" forces it
        let (a0, s0) = alphaSigma(sigmas[i])
        let x0: Tensor = schedule.prediction == .epsilon ? (x - s0 * m) / a0 : a0 * x - s0 * m
        let (at, st) = alphaSigma(sigmas[i + 1])
        let lambdaT = Foundation.log(at) - Foundation.log(st)
        let lambda0 = Foundation.log(a0) - Foundation.log(s0)
        let h = lambdaT - lambda0
        let coeff = at * (Foundation.exp(-h) - 1)
        var prev: Tensor
        if lowerOrderNums < 1 || lowerOrderFinal || previousX0 == nil {
            prev = (st / s0) * x - coeff * x0
        } else {
            let (a1, s1) = alphaSigma(sigmas[i - 1])
            let lambda1 = Foundation.log(a1) - Foundation.log(s1)
            let r0 = (lambda0 - lambda1) / h
            let d1 = (1 / r0) * (x0 - previousX0!)
            prev = (st / s0) * x - coeff * x0 - 0.5 * coeff * d1
        }
        previousX0 = x0
        if lowerOrderNums < 2 { lowerOrderNums += 1 }
        stepIndex = i + 1
        return prev
    }

    public func addNoise(_ original: Tensor, noise: Tensor, timestep: Float) -> Tensor {
        // As EulerDiscrete's: the current step once stepping has begun, else the begin index, else t's position.
        let i = stepIndex ?? beginIndex ?? {
            let matches = timesteps.indices.filter { timesteps[$0] == timestep }
            return matches.count > 1 ? matches[1] : (matches.first ?? timesteps.count - 1)
        }()
        let (a, s) = alphaSigma(sigmas[i])
        return a * original + s * noise
    }
}

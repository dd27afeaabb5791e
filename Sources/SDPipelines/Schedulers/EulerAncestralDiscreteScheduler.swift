// EulerAncestralDiscreteScheduler: diffusers schedulers/scheduling_euler_ancestral_discrete.py.
// Draws one latent-shaped normal tensor from the generator at every step (the last one too).
import SDCore
import SDModels

public final class EulerAncestralDiscreteScheduler: Scheduler {
    let table: SigmaTable
    public var timesteps: [Float] { table.timesteps }
    public let order = 1
    public var initNoiseSigma: Float { table.initNoiseSigma }

    init(_ r: ConfigReader) throws { table = try SigmaTable(r) }

    public func setTimesteps(_ n: Int) throws { try table.set(n) }
    public func setBeginIndex(_ index: Int) { table.beginIndex = index }
    public func scaleModelInput(_ sample: Tensor, timestep: Float) -> Tensor { table.scale(sample, timestep) }

    public func step(_ m: Tensor, timestep: Float, sample x: Tensor, generator: TorchGenerator) -> Tensor {
        let i = table.index(for: timestep)
        let from = table.sigmas[i], to = table.sigmas[i + 1]
        let x0 = table.denoised(m, x, sigma: from)
        let up = (to * to * (from * from - to * to) / (from * from)).squareRoot()
        let down = (to * to - up * up).squareRoot()
        let derivative = (x - x0) / from
        let prev = x + derivative * (down - from)
        table.stepIndex = i + 1
        return prev + generator.randn(m.shape) * up
    }

    public func addNoise(_ original: Tensor, noise: Tensor, timestep: Float) -> Tensor { table.addNoise(original, noise) }
}

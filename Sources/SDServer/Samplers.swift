// A1111 sampler and scheduler names (modules/sd_samplers_kdiffusion.py, sd_samplers_timesteps.py,
// sd_schedulers.py) for the diffusers schedulers sdedit has. An unknown name is a 422: A1111 falls
// back to its default sampler silently, which would answer with another image than asked for.
import SDPipelines

public enum Samplers {
    /// (A1111 name, aliases, scheduler) in GET samplers' order.
    static let table: [(name: String, aliases: [String], kind: SchedulerKind)] = [
        ("DPM++ 2M", ["k_dpmpp_2m"], .dpm2m),
        ("DPM++ 2M Karras", ["k_dpmpp_2m_ka"], .dpm2mKarras),
        ("Euler a", ["k_euler_a", "k_euler_ancestral"], .eulerAncestral),
        ("Euler", ["k_euler"], .euler),
        ("DDIM", ["ddim"], .ddim),
        ("PLMS", ["plms"], .pndm),
        ("LCM", ["k_lcm"], .lcm),
    ]

    /// GET schedulers: "automatic" keeps the sampler's own schedule; "karras" is DPM++ 2M's Karras sigmas.
    static let schedulers: [(name: String, label: String)] = [("automatic", "Automatic"), ("karras", "Karras")]

    /// The A1111 name sdedit writes in infotexts for a scheduler.
    public static func name(_ kind: SchedulerKind) -> String { table.first { $0.kind == kind }!.name }

    /// The scheduler for a request's sampler_name and scheduler; nil sampler = the checkpoint's own.
    static func resolve(sampler: String?, scheduler: String?) throws -> SchedulerKind? {
        var kind: SchedulerKind? = nil
        if let s = sampler, !s.isEmpty {
            let key = s.lowercased()
            guard let row = table.first(where: { $0.name.lowercased() == key || $0.aliases.contains(key) || $0.kind.rawValue == key }) else {
                throw APIError.unprocessable("sampler_name: unknown sampler '\(s)' (sdedit has: \(table.map(\.name).joined(separator: ", ")))")
            }
            kind = row.kind
        }
        switch scheduler?.lowercased() ?? "" {
        case "", "automatic": return kind
        case "karras":
            guard kind == .dpm2m || kind == .dpm2mKarras else {
                throw APIError.unprocessable("scheduler: Karras is available with DPM++ 2M only")
            }
            return .dpm2mKarras
        default:
            throw APIError.unprocessable("scheduler: unknown scheduler '\(scheduler!)' (sdedit has: Automatic, Karras)")
        }
    }
}

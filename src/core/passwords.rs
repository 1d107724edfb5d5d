//! Password hashing: argon2id with OWASP's parameters, stored as PHC strings,
//! re-hashed on sign-in when the parameters change.

use std::cell::RefCell;
use std::collections::HashSet;
use std::sync::LazyLock;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, Salt, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use secrecy::{ExposeSecret, SecretString};
use subtle::ConstantTimeEq;

use crate::types::InvalidValue;

/// OWASP Password Storage Cheat Sheet: argon2id, 19 MiB, 2 iterations, 1 lane.
const MEMORY_KIB: u32 = 19 * 1024;
const ITERATIONS: u32 = 2;
const LANES: u32 = 1;

/// NIST SP 800-63B §3.1.1.2: at least 8 characters; accept long passphrases
/// but bound the work one request can cause.
pub const MIN_LENGTH: usize = 8;
pub const MAX_LENGTH: usize = 256;

/// A password that satisfies the length policy. Its `Debug` never shows it.
#[derive(Clone)]
pub struct Password(SecretString);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(***)")
    }
}

impl Password {
    /// A new password chosen by a user: the policy applies.
    pub fn new_choice(raw: &str) -> Result<Self, InvalidValue> {
        let length = raw.chars().count();
        if length < MIN_LENGTH {
            return Err(InvalidValue(format!(
                "The password must be at least {MIN_LENGTH} characters long."
            )));
        }
        if length > MAX_LENGTH {
            return Err(InvalidValue(format!(
                "The password must be at most {MAX_LENGTH} characters long."
            )));
        }
        if is_common(raw) {
            return Err(InvalidValue(
                "This password is one of the most common ones, which attackers try first. Choose another."
                    .to_owned(),
            ));
        }
        Ok(Self(SecretString::from(raw.to_owned())))
    }

    /// A password typed at sign-in: checked against the hash, never rejected
    /// for its form (that would tell an attacker something).
    pub fn attempt(raw: &str) -> Self {
        let bounded: String = raw.chars().take(MAX_LENGTH).collect();
        Self(SecretString::from(bounded))
    }

    fn bytes(&self) -> &[u8] {
        self.0.expose_secret().as_bytes()
    }
}

/// NIST SP 800-63B §3.1.1.2: reject passwords from lists of commonly used
/// ones. The bundled list holds the common passwords long enough to pass the
/// length rule.
static COMMON_PASSWORDS: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    include_str!("common_passwords.txt")
        .lines()
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .collect()
});

fn is_common(raw: &str) -> bool {
    COMMON_PASSWORDS.contains(raw) || COMMON_PASSWORDS.contains(raw.to_lowercase().as_str())
}

fn hasher() -> Argon2<'static> {
    let params = Params::new(MEMORY_KIB, ITERATIONS, LANES, None)
        .expect("the OWASP argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hash a password into a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$...`).
pub fn hash(password: &Password) -> String {
    let salt = SaltString::generate(&mut OsRng);
    hasher()
        .hash_password(password.bytes(), &salt)
        .expect("argon2 hashing with valid parameters cannot fail")
        .to_string()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordCheck {
    /// Correct; `needs_rehash` when it was hashed with other parameters.
    Valid {
        needs_rehash: bool,
    },
    Invalid,
}

/// Check a password against a stored PHC string.
pub fn verify(phc: &str, password: &Password) -> PasswordCheck {
    // Counted (a metric) also so tests can prove that every sign-in path
    // does the same work.
    super::measure::password_hashed();
    let Ok(parsed) = PasswordHash::new(phc) else {
        tracing::error!("a stored password hash is not a valid PHC string");
        return PasswordCheck::Invalid;
    };
    // Verify with the parameters the hash was made with, then compare them
    // with today's to decide on a rehash.
    let Some(params) = matches(&parsed, password) else {
        return PasswordCheck::Invalid;
    };
    let needs_rehash = parsed.algorithm != Algorithm::Argon2id.ident()
        || parsed.version != Some(Version::V0x13.into())
        || params.m_cost() != MEMORY_KIB
        || params.t_cost() != ITERATIONS
        || params.p_cost() != LANES;
    PasswordCheck::Valid { needs_rehash }
}

thread_local! {
    /// The argon2 memory of this (hashing) thread, kept from one hash to the
    /// next: a fresh 19 MiB per hash costs ~4,900 page faults, each handing
    /// out a zeroed page, about a tenth of the hash's time. argon2 writes
    /// every block before reading it, so what the last hash left is never
    /// read.
    static MEMORY: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// The parameters of `parsed` when `password` hashes to its output under
/// them (compared in constant time); `None` for a wrong password or a hash
/// this build cannot check.
fn matches(parsed: &PasswordHash<'_>, password: &Password) -> Option<Params> {
    let algorithm = Algorithm::try_from(parsed.algorithm).ok()?;
    let version = match parsed.version {
        Some(number) => Version::try_from(number).ok()?,
        None => Version::default(),
    };
    let params = Params::try_from(parsed).ok()?;
    let expected = parsed.hash?;
    let mut salt = [0u8; Salt::MAX_LENGTH];
    let salt = parsed.salt?.decode_b64(&mut salt).ok()?;
    let mut output = vec![0u8; expected.len()];
    let argon2 = Argon2::new(algorithm, version, params.clone());
    MEMORY
        .with_borrow_mut(|memory| {
            let blocks = params.block_count();
            if memory.len() < blocks {
                memory.resize(blocks, Block::default());
            }
            argon2.hash_password_into_with_memory(
                password.bytes(),
                salt,
                &mut output,
                &mut memory[..blocks],
            )
        })
        .ok()?;
    bool::from(output.ct_eq(expected.as_bytes())).then_some(params)
}

/// A hash of nothing anyone knows, verified against when the account does not
/// exist, so that an unknown e-mail costs the same time as a wrong password.
static DUMMY_HASH: LazyLock<String> =
    LazyLock::new(|| hash(&Password::attempt(&super::secrets::random_token(32))));

/// Compute the dummy hash now (at start-up), so the first sign-in attempt
/// for an unknown e-mail is not slower than the others.
pub fn warm_up() {
    LazyLock::force(&DUMMY_HASH);
}

/// Spend the time of one verification and fail.
pub fn dummy_verify(password: &Password) -> PasswordCheck {
    let _ = verify(&DUMMY_HASH, password);
    PasswordCheck::Invalid
}

/// argon2 runs on threads of its own, one per core (more would only
/// interleave hashes), never on the async workers (a hash there stalls every
/// other request) and never inside a database transaction (it would hold the
/// connection, on SQLite the write lock, for the hash's duration). The
/// threads run at a lower OS priority than the rest of the server: they
/// keep the cores busy, but a request's other steps (the database writer,
/// HTTP) get a core as soon as they need one, so sign-ins are not slowed by
/// queueing behind each other's hashes. Requests beyond a bounded queue are
/// answered "busy" at once rather than waiting for seconds.
mod pool {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{LazyLock, Mutex, mpsc};

    use tokio::sync::{Semaphore, oneshot};

    /// Hashes that may wait for a thread, unless configured otherwise: at
    /// ~15–30 ms a hash on 2 cores, the last of them waits about a second.
    pub const DEFAULT_QUEUE: usize = 64;

    /// How much lower than the server the hashing threads run (nice).
    const BELOW_REQUESTS: i32 = 10;

    type Job = Box<dyn FnOnce() + Send>;

    fn cores() -> usize {
        std::thread::available_parallelism().map_or(2, |n| n.get())
    }

    static QUEUE_LIMIT: AtomicUsize = AtomicUsize::new(DEFAULT_QUEUE);
    static RUNNING: LazyLock<Semaphore> = LazyLock::new(|| Semaphore::new(cores()));
    static WAITING: AtomicUsize = AtomicUsize::new(0);

    /// The hashing threads, started on first use.
    static HASHERS: LazyLock<Mutex<mpsc::Sender<Job>>> = LazyLock::new(|| {
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = std::sync::Arc::new(Mutex::new(queue));
        for n in 0..cores() {
            let queue = std::sync::Arc::clone(&queue);
            std::thread::Builder::new()
                .name(format!("argon2-{n}"))
                .spawn(move || {
                    lower_priority();
                    loop {
                        let job = match queue.lock() {
                            Ok(queue) => queue.recv(),
                            Err(_) => return,
                        };
                        match job {
                            Ok(job) => job(),
                            Err(_) => return,
                        }
                    }
                })
                .expect("start a password hashing thread");
        }
        Mutex::new(jobs)
    });

    /// Lower this thread's priority (Linux: nice applies per thread).
    fn lower_priority() {
        #[cfg(target_os = "linux")]
        // SAFETY: setpriority only reads its integer arguments; who = 0 is
        // the calling thread.
        unsafe {
            libc::setpriority(libc::PRIO_PROCESS, 0, BELOW_REQUESTS);
        }
    }

    /// The hasher is full: answer "busy, try again" (503).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
    #[error("The service is busy right now. Try again in a moment.")]
    pub struct Busy;

    /// How many hashes may wait (the process's setting, one pool per
    /// machine's cores).
    pub fn set_queue_limit(limit: usize) {
        QUEUE_LIMIT.store(limit, Ordering::Relaxed);
    }

    /// One place in the queue, given back however the wait ends.
    struct Waiting;

    impl Drop for Waiting {
        fn drop(&mut self) {
            WAITING.fetch_sub(1, Ordering::Relaxed);
        }
    }

    pub async fn run<T: Send + 'static>(
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Busy> {
        let permit = match RUNNING.try_acquire() {
            Ok(permit) => permit,
            Err(_) => {
                if WAITING.fetch_add(1, Ordering::Relaxed) >= QUEUE_LIMIT.load(Ordering::Relaxed) {
                    WAITING.fetch_sub(1, Ordering::Relaxed);
                    crate::core::measure::password_hash_refused();
                    return Err(Busy);
                }
                let _place = Waiting;
                let asked = std::time::Instant::now();
                let permit = RUNNING.acquire().await.map_err(|_| Busy)?;
                crate::core::measure::password_hash_waited(asked.elapsed());
                permit
            }
        };
        let (done, result) = oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = done.send(work());
        });
        HASHERS
            .lock()
            .map_err(|_| Busy)?
            .send(job)
            .map_err(|_| Busy)?;
        let result = result.await.map_err(|_| Busy)?;
        drop(permit);
        Ok(result)
    }

    /// Hashes waiting for a thread now.
    pub fn waiting() -> usize {
        WAITING.load(Ordering::Relaxed)
    }
}

pub use pool::{Busy, DEFAULT_QUEUE, set_queue_limit, waiting as hashes_waiting};

/// A password's PHC string, computed off the async runtime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hashed(pub String);

impl Password {
    /// Hash on the bounded blocking pool (see [`pool`]).
    pub async fn hashed(&self) -> Result<Hashed, Busy> {
        let password = self.clone();
        pool::run(move || Hashed(hash(&password))).await
    }

    /// Check against `phc` on the bounded blocking pool.
    pub async fn check(&self, phc: &str) -> Result<PasswordCheck, Busy> {
        let (password, phc) = (self.clone(), phc.to_owned());
        pool::run(move || verify(&phc, &password)).await
    }

    /// Spend the time of one check, on the pool, and fail.
    pub async fn check_nothing(&self) -> Result<PasswordCheck, Busy> {
        let password = self.clone();
        pool::run(move || dummy_verify(&password)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_use_owasp_parameters() {
        let password = Password::new_choice("correct horse battery").unwrap();
        let phc = hash(&password);
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert_eq!(
            verify(&phc, &password),
            PasswordCheck::Valid {
                needs_rehash: false
            }
        );
        assert_eq!(
            verify(&phc, &Password::attempt("wrong horse")),
            PasswordCheck::Invalid
        );
    }

    #[test]
    fn old_parameters_ask_for_a_rehash() {
        let weak = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(8 * 1024, 1, 1, None).unwrap(),
        );
        let salt = SaltString::generate(&mut OsRng);
        let phc = weak
            .hash_password(b"correct horse battery", &salt)
            .unwrap()
            .to_string();
        assert_eq!(
            verify(&phc, &Password::attempt("correct horse battery")),
            PasswordCheck::Valid { needs_rehash: true }
        );
    }

    /// One thread's kept argon2 memory serves hashes of every size and
    /// variant, and what one hash leaves in it decides nothing for the next.
    #[test]
    fn kept_memory_serves_any_parameters_and_decides_nothing() {
        let made_with = |algorithm, kib, lanes| {
            let argon2 = Argon2::new(
                algorithm,
                Version::V0x13,
                Params::new(kib, 1, lanes, None).unwrap(),
            );
            let salt = SaltString::generate(&mut OsRng);
            argon2
                .hash_password(b"correct horse battery", &salt)
                .unwrap()
                .to_string()
        };
        let right = Password::attempt("correct horse battery");
        let wrong = Password::attempt("correct horse battery!");
        let owasp = hash(&right);
        for phc in [
            made_with(Algorithm::Argon2i, 8 * 1024, 1),
            owasp.clone(),
            made_with(Algorithm::Argon2d, 32 * 1024, 2),
            owasp,
        ] {
            assert!(
                matches!(verify(&phc, &right), PasswordCheck::Valid { .. }),
                "{phc}"
            );
            assert_eq!(verify(&phc, &wrong), PasswordCheck::Invalid, "{phc}");
        }
    }

    #[test]
    fn common_passwords_are_refused() {
        for common in ["password", "12345678", "Baseball", "iloveyou"] {
            assert!(Password::new_choice(common).is_err(), "{common}");
        }
        assert!(Password::new_choice("violet staple orbit").is_ok());
        // At sign-in the list does not apply: the hash decides.
        let _ = Password::attempt("password");
    }

    #[test]
    fn policy_bounds_length() {
        assert!(Password::new_choice("short").is_err());
        assert!(Password::new_choice(&"x".repeat(MAX_LENGTH + 1)).is_err());
        assert!(Password::new_choice("eight ch").is_ok());
        assert_eq!(
            format!("{:?}", Password::attempt("secret")),
            "Password(***)"
        );
    }

    #[test]
    fn garbage_hashes_do_not_verify() {
        assert_eq!(
            verify("not a phc", &Password::attempt("x")),
            PasswordCheck::Invalid
        );
        assert_eq!(
            dummy_verify(&Password::attempt("x")),
            PasswordCheck::Invalid
        );
    }
}

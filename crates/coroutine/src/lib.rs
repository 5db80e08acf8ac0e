//! Coroutines as a concurrency model: async tasks on tokio, smol and async-std

//! The copilot's tables: the firm policy, matter consent, and usage.

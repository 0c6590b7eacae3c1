//! The rows of the key table for the companion services: the Kafka Connect
//! worker (`TDA_CONNECT_*`) and Redis (`TDA_REDIS_PASSWORD`).

use super::*;

pub(super) static SERVICE_KEYS: &[Key] = &[
    Key {
        name: "TDA_CONNECT_GROUP_ID",
        doc: "Group id of the Kafka Connect workers (seed: tda-connect).",
        expected: "a group id without spaces",
        secret: false,
        set: |c, v| {
            let v = v.trim();
            if v.is_empty() || v.chars().any(char::is_whitespace) {
                return Err(());
            }
            c.services.connect_group_id = v.to_string();
            Ok(())
        },
        get: |c| Some(c.services.connect_group_id.clone()),
    },
    Key {
        name: "TDA_CONNECT_PLUGIN_PATH",
        doc: "Your own Kafka Connect plugin directories (`:` or `,` separated), after the stack's own.",
        expected: "directories separated by `:` or `,`",
        secret: false,
        set: |c, v| {
            c.services.connect_plugin_path = v
                .split([':', ','])
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(PathBuf::from)
                .collect();
            Ok(())
        },
        get: |c| {
            let paths = &c.services.connect_plugin_path;
            (!paths.is_empty()).then(|| {
                paths
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(":")
            })
        },
    },
    Key {
        name: "TDA_REDIS_PASSWORD",
        doc: "Redis password (requirepass, secret); unset: no password.",
        expected: "a password",
        secret: true,
        set: |c, v| {
            c.services.redis_password = secret(v);
            Ok(())
        },
        get: |c| {
            c.services
                .redis_password
                .as_ref()
                .map(|s| s.expose().to_string())
        },
    },
];

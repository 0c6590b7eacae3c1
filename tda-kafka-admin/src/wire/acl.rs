//! ACLs over the raw protocol (librdkafka's ACL API is not in rdkafka 0.39):
//! DescribeAcls, CreateAcls and DeleteAcls of literal ALLOW bindings from
//! any host, the only kind the architecture declares.

use kafka_protocol::messages::create_acls_request::{AclCreation, CreateAclsRequest};
use kafka_protocol::messages::delete_acls_request::{DeleteAclsFilter, DeleteAclsRequest};
use kafka_protocol::messages::describe_acls_request::DescribeAclsRequest;
use kafka_protocol::protocol::StrBytes;
use tda_kafka_config::{AclBinding, AclOperation, AclResource};

use super::{wire_err, WireConn, WireOptions};
use crate::{AdminError, Result};

const ANY: i8 = 1;
const LITERAL: i8 = 3;
const ALLOW: i8 = 3;
const SECURITY_DISABLED: i16 = 54;

fn resource_from(code: i8) -> Option<AclResource> {
    [AclResource::Topic, AclResource::Group]
        .into_iter()
        .find(|r| r.code() == code)
}

fn check(addr: &str, what: &str, code: i16, message: Option<StrBytes>) -> Result<()> {
    match code {
        0 => Ok(()),
        SECURITY_DISABLED => Err(AdminError::Refused {
            operation: "manage ACLs on",
            target: addr.to_owned(),
            reason:
                "the cluster has no authorizer (SECURITY_DISABLED); ACLs need a secured cluster \
                     (KAFKA_SECURITY_PROTOCOL=SASL_SSL with TDA_KAFKA_TLS_DIR)"
                    .into(),
        }),
        code => Err(wire_err(
            addr,
            format!(
                "{what}: error code {code}{}",
                message.map(|m| format!(" ({m})")).unwrap_or_default()
            ),
        )),
    }
}

/// Every literal ALLOW binding from any host on a topic or group with one of
/// our operations (others, e.g. prefixed patterns, are not ours to manage).
pub(crate) async fn describe(addr: &str, opts: &WireOptions) -> Result<Vec<AclBinding>> {
    let mut conn = WireConn::connect(addr, opts).await?;
    // The defaults are empty-string filters, which match nothing: clear them.
    let req = DescribeAclsRequest::default()
        .with_resource_name_filter(None)
        .with_principal_filter(None)
        .with_host_filter(None)
        .with_resource_type_filter(ANY)
        .with_pattern_type_filter(LITERAL)
        .with_operation(ANY)
        .with_permission_type(ALLOW);
    let resp = conn.send(req).await?;
    check(addr, "DescribeAcls", resp.error_code, resp.error_message)?;
    let mut out = Vec::new();
    for r in resp.resources {
        let Some(resource) = resource_from(r.resource_type) else {
            continue;
        };
        for a in r.acls {
            let Some(operation) = AclOperation::from_code(a.operation) else {
                continue;
            };
            if a.host.as_str() != "*" || a.permission_type != ALLOW {
                continue;
            }
            out.push(AclBinding {
                resource,
                name: r.resource_name.to_string(),
                principal: a.principal.to_string(),
                operation,
            });
        }
    }
    out.sort();
    Ok(out)
}

/// Creates `bindings`; one result per binding (the broker's error text).
pub(crate) async fn create(
    addr: &str,
    bindings: &[AclBinding],
    opts: &WireOptions,
) -> Result<Vec<std::result::Result<(), String>>> {
    let mut conn = WireConn::connect(addr, opts).await?;
    let req = CreateAclsRequest::default().with_creations(
        bindings
            .iter()
            .map(|b| {
                AclCreation::default()
                    .with_resource_type(b.resource.code())
                    .with_resource_name(StrBytes::from_string(b.name.clone()))
                    .with_resource_pattern_type(LITERAL)
                    .with_principal(StrBytes::from_string(b.principal.clone()))
                    .with_host(StrBytes::from_static_str("*"))
                    .with_operation(b.operation.code())
                    .with_permission_type(ALLOW)
            })
            .collect(),
    );
    let resp = conn.send(req).await?;
    if let Some(r) = resp
        .results
        .iter()
        .find(|r| r.error_code == SECURITY_DISABLED)
    {
        check(addr, "CreateAcls", r.error_code, r.error_message.clone())?;
    }
    Ok(resp
        .results
        .into_iter()
        .map(|r| {
            check(addr, "CreateAcls", r.error_code, r.error_message).map_err(|e| e.to_string())
        })
        .collect())
}

/// Deletes exactly `bindings`; one result per binding.
pub(crate) async fn delete(
    addr: &str,
    bindings: &[AclBinding],
    opts: &WireOptions,
) -> Result<Vec<std::result::Result<(), String>>> {
    let mut conn = WireConn::connect(addr, opts).await?;
    let req = DeleteAclsRequest::default().with_filters(
        bindings
            .iter()
            .map(|b| {
                DeleteAclsFilter::default()
                    .with_resource_type_filter(b.resource.code())
                    .with_resource_name_filter(Some(StrBytes::from_string(b.name.clone())))
                    .with_pattern_type_filter(LITERAL)
                    .with_principal_filter(Some(StrBytes::from_string(b.principal.clone())))
                    .with_host_filter(Some(StrBytes::from_static_str("*")))
                    .with_operation(b.operation.code())
                    .with_permission_type(ALLOW)
            })
            .collect(),
    );
    let resp = conn.send(req).await?;
    Ok(resp
        .filter_results
        .into_iter()
        .map(|r| {
            check(addr, "DeleteAcls", r.error_code, r.error_message).map_err(|e| e.to_string())
        })
        .collect())
}

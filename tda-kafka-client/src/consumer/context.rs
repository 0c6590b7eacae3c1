//! The consumer's librdkafka context (rebalances) and the classification of
//! the errors librdkafka reports while consuming.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::error::KafkaError;
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::ClientContext;

/// Partition generations: bumped on revocation so that work dispatched
/// before a rebalance is never stored after it.
#[derive(Default)]
pub(crate) struct Generations(Mutex<HashMap<i32, u64>>);

impl Generations {
    pub(crate) fn get(&self, partition: i32) -> u64 {
        *self
            .0
            .lock()
            .expect("generations poisoned")
            .get(&partition)
            .unwrap_or(&0)
    }

    fn bump(&self, partition: i32) {
        *self
            .0
            .lock()
            .expect("generations poisoned")
            .entry(partition)
            .or_default() += 1;
    }
}

/// The consumer context: on revocation, commit what was finished and fence
/// off what was not.
pub struct TdaConsumerContext {
    pub(crate) generations: Arc<Generations>,
}

impl ClientContext for TdaConsumerContext {}

impl ConsumerContext for TdaConsumerContext {
    fn pre_rebalance(&self, base_consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Revoke(tpl) = rebalance {
            for e in tpl.elements() {
                self.generations.bump(e.partition());
            }
            // Only offsets stored after finished work are committed here.
            if let Err(e) = base_consumer.commit_consumer_state(CommitMode::Sync) {
                if !is_no_offset(&e) {
                    tracing::warn!(error = %e, "commit on revocation failed");
                }
            }
        }
    }
}

/// A commit that found nothing stored to commit (not an error).
pub(crate) fn is_no_offset(e: &KafkaError) -> bool {
    e.rdkafka_error_code() == Some(RDKafkaErrorCode::NoOffset)
}

/// Whether an error the consumer reported (from `recv`) ends the run: a
/// fatal librdkafka error, or one no wait can cure (authentication,
/// authorization, an invalid group or configuration). Everything else (a
/// broker down, a topic not created yet, a timeout) is transient: librdkafka
/// recovers by itself and the consumer keeps polling.
pub(crate) fn is_fatal_consumer_error(e: &KafkaError) -> bool {
    use RDKafkaErrorCode as C;
    match e {
        KafkaError::MessageConsumptionFatal(_) => true,
        KafkaError::MessageConsumption(code) | KafkaError::Global(code) => matches!(
            code,
            C::Fatal
                | C::Authentication
                | C::SaslAuthenticationFailed
                | C::TopicAuthorizationFailed
                | C::GroupAuthorizationFailed
                | C::ClusterAuthorizationFailed
                | C::InvalidGroupId
                | C::InconsistentGroupProtocol
                | C::FencedInstanceId
                | C::InvalidArgument
        ),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consumer_errors_are_classified() {
        use RDKafkaErrorCode as C;
        for fatal in [
            KafkaError::MessageConsumptionFatal(C::OutOfOrderSequenceNumber),
            KafkaError::MessageConsumption(C::TopicAuthorizationFailed),
            KafkaError::MessageConsumption(C::GroupAuthorizationFailed),
            KafkaError::MessageConsumption(C::SaslAuthenticationFailed),
            KafkaError::MessageConsumption(C::Authentication),
            KafkaError::MessageConsumption(C::InvalidGroupId),
        ] {
            assert!(is_fatal_consumer_error(&fatal), "{fatal:?}");
        }
        for transient in [
            KafkaError::MessageConsumption(C::UnknownTopicOrPartition),
            KafkaError::MessageConsumption(C::BrokerTransportFailure),
            KafkaError::MessageConsumption(C::AllBrokersDown),
            KafkaError::MessageConsumption(C::NotCoordinator),
            KafkaError::MessageConsumption(C::RequestTimedOut),
            KafkaError::PartitionEOF(0),
        ] {
            assert!(!is_fatal_consumer_error(&transient), "{transient:?}");
        }
    }
}

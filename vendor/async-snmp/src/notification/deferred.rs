//! Deferred Inform acknowledgement (Outpost patch, see VENDORED.md).
//!
//! [`NotificationReceiver::recv`] sends an accepted Inform's Response before it
//! returns. A receiver that must first make the notification durable (write it
//! to a journal, a database, a spool) would then acknowledge something it may
//! still lose. [`NotificationReceiver::recv_deferred`] returns the accepted
//! notification together with an [`InformResponder`] holding the finalized
//! Response; the application sends it with [`InformResponder::send`] once the
//! notification is safe, or drops it to withhold the acknowledgement so that
//! the originator retries.

use std::net::SocketAddr;

use crate::error::{Error, Result};
use crate::response_finalizer::FinalizedResponse;
use crate::udp_responder::DestinationMetadata;

use super::{
    InformAckOutcome, Notification, NotificationReceiver, NotificationWireIdentity,
    ReceivedNotification,
};

/// An accepted notification and, for an Inform, its Response not yet sent.
pub(super) struct Accepted {
    pub(super) received: ReceivedNotification,
    pub(super) response: Option<PendingInformResponse>,
}

impl Accepted {
    pub(super) fn trap(received: ReceivedNotification) -> Self {
        Self {
            received,
            response: None,
        }
    }

    pub(super) fn inform(
        notification: Notification,
        source: SocketAddr,
        wire_identity: NotificationWireIdentity,
        response: PendingInformResponse,
    ) -> Self {
        Self {
            received: ReceivedNotification {
                notification,
                source,
                wire_identity,
                inform_ack: None,
            },
            response: Some(response),
        }
    }
}

/// The Response to one accepted Inform, finalized (encoded, and for v3
/// authenticated and encrypted with the requester's USM user) but not sent.
pub(super) struct PendingInformResponse {
    pub(super) finalized: Result<FinalizedResponse>,
    pub(super) destination: SocketAddr,
    pub(super) response_source: Option<DestinationMetadata>,
    pub(super) request_id: i32,
}

/// The Response to an accepted Inform, to be sent when the application is
/// ready to acknowledge it.
///
/// Returned by [`NotificationReceiver::recv_deferred`]. The Response was
/// built when the Inform was received: for SNMPv3 it carries this engine's
/// boots/time as sampled then, which stays within the RFC 3414 time window as
/// long as the Response is sent within the originator's retry timeout.
///
/// Dropping it without calling [`send`](Self::send) sends nothing: the
/// originator sees no acknowledgement and retransmits the Inform.
#[must_use = "an Inform is acknowledged only when its responder is sent"]
pub struct InformResponder {
    receiver: NotificationReceiver,
    pending: PendingInformResponse,
}

impl std::fmt::Debug for InformResponder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InformResponder")
            .field("destination", &self.pending.destination)
            .field("request_id", &self.pending.request_id)
            .finish_non_exhaustive()
    }
}

impl InformResponder {
    /// The originator the Response goes to.
    #[must_use]
    pub fn destination(&self) -> SocketAddr {
        self.pending.destination
    }

    /// The Inform's request ID, echoed by the Response.
    #[must_use]
    pub fn request_id(&self) -> i32 {
        self.pending.request_id
    }

    /// Send the Response: the acknowledgement [`NotificationReceiver::recv`]
    /// would have sent before returning, with the same local outcome.
    pub async fn send(self) -> InformAckOutcome {
        self.receiver.send_pending(self.pending).await
    }
}

impl NotificationReceiver {
    /// Receive a notification without acknowledging it yet.
    ///
    /// Like [`recv`](Self::recv), except that an accepted Inform's Response is
    /// not sent: it is returned as an [`InformResponder`] for the caller to
    /// send once it has dealt with the notification (for example after writing
    /// it durably), or to drop so that the originator retries. The returned
    /// notification's `inform_ack` is `None`; [`InformResponder::send`] yields
    /// the outcome instead. Traps come with no responder.
    ///
    /// # Errors
    ///
    /// The same as [`recv`](Self::recv).
    pub async fn recv_deferred(&self) -> Result<(ReceivedNotification, Option<InformResponder>)> {
        let accepted = self.recv_accepted().await?;
        let responder = accepted.response.map(|pending| InformResponder {
            receiver: self.clone(),
            pending,
        });
        Ok((accepted.received, responder))
    }

    /// Send an accepted Inform's Response now, as [`recv`](Self::recv) does.
    pub(super) async fn answer_now(&self, accepted: Accepted) -> ReceivedNotification {
        let mut received = accepted.received;
        if let Some(pending) = accepted.response {
            received.inform_ack = Some(self.send_pending(pending).await);
        }
        received
    }

    async fn send_pending(&self, pending: PendingInformResponse) -> InformAckOutcome {
        let PendingInformResponse {
            finalized,
            destination,
            response_source,
            request_id,
        } = pending;
        match finalized {
            Ok(FinalizedResponse::Dropped) => {
                tracing::debug!(target: "async_snmp::notification", { snmp.source = %destination, snmp.request_id = request_id }, "Inform response and tooBig alternate exceed max message size");
                InformAckOutcome::SuppressedBySize
            }
            Ok(finalized) => {
                let response_bytes = finalized
                    .into_bytes()
                    .expect("non-dropped response contains bytes");
                match self
                    .send_response(&response_bytes, destination, response_source)
                    .await
                {
                    Ok(()) => {
                        tracing::debug!(target: "async_snmp::notification", { snmp.source = %destination, snmp.request_id = request_id }, "sent Inform response");
                        InformAckOutcome::Sent
                    }
                    Err(error) => InformAckOutcome::Failed(
                        Error::Network {
                            target: destination,
                            source: error,
                        }
                        .boxed(),
                    ),
                }
            }
            Err(error) => InformAckOutcome::Failed(error),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use bytes::Bytes;

    use super::super::{InformAckOutcome, NotificationReceiver};
    use crate::message::CommunityMessage;
    use crate::oid;
    use crate::pdu::Pdu;

    fn v2c_inform(request_id: i32) -> Bytes {
        let pdu = Pdu::inform_request(request_id, 100, &oid!(1, 3, 6, 1, 6, 3, 1, 1, 5, 1), vec![]);
        CommunityMessage::v2c(Bytes::from_static(b"public"), pdu)
            .unwrap()
            .encode()
            .unwrap()
    }

    async fn next_response_id(client: &tokio::net::UdpSocket) -> i32 {
        let mut buf = [0u8; 1500];
        let (n, _) = tokio::time::timeout(Duration::from_secs(5), client.recv_from(&mut buf))
            .await
            .expect("a Response")
            .unwrap();
        let data = Bytes::copy_from_slice(&buf[..n]);
        let message =
            CommunityMessage::decode_with_target(data, None, crate::DecodeConfig::DEFAULT).unwrap();
        message.value.pdu().standard().unwrap().request_id
    }

    #[tokio::test]
    async fn deferred_inform_is_answered_only_when_sent_and_never_when_dropped() {
        let receiver = NotificationReceiver::bind("127.0.0.1:0").await.unwrap();
        let client = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let target = receiver.local_addr();

        client.send_to(&v2c_inform(7), target).await.unwrap();
        let (received, responder) = receiver.recv_deferred().await.unwrap();
        assert!(received.notification.is_confirmed());
        assert!(received.inform_ack.is_none());
        let responder = responder.expect("an Inform comes with a responder");
        assert_eq!(responder.request_id(), 7);
        assert_eq!(responder.destination(), client.local_addr().unwrap());
        let mut buf = [0u8; 1];
        assert!(
            client.try_recv_from(&mut buf).is_err(),
            "answered before send"
        );
        assert!(matches!(responder.send().await, InformAckOutcome::Sent));
        assert_eq!(next_response_id(&client).await, 7);

        // A dropped responder sends nothing: the next Response is the next Inform's.
        client.send_to(&v2c_inform(8), target).await.unwrap();
        let (_, dropped) = receiver.recv_deferred().await.unwrap();
        drop(dropped);
        client.send_to(&v2c_inform(9), target).await.unwrap();
        let (_, responder) = receiver.recv_deferred().await.unwrap();
        assert!(matches!(
            responder.unwrap().send().await,
            InformAckOutcome::Sent
        ));
        assert_eq!(next_response_id(&client).await, 9);
    }

    #[tokio::test]
    async fn traps_come_without_a_responder_and_recv_still_answers_at_once() {
        let receiver = NotificationReceiver::bind("127.0.0.1:0").await.unwrap();
        let client = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let trap = CommunityMessage::v2c(
            Bytes::from_static(b"public"),
            Pdu::trap_v2(3, 100, &oid!(1, 3, 6, 1, 6, 3, 1, 1, 5, 1), vec![]),
        )
        .unwrap()
        .encode()
        .unwrap();
        client.send_to(&trap, receiver.local_addr()).await.unwrap();
        let (_, responder) = receiver.recv_deferred().await.unwrap();
        assert!(responder.is_none());

        client
            .send_to(&v2c_inform(4), receiver.local_addr())
            .await
            .unwrap();
        let received = receiver.recv().await.unwrap();
        assert!(matches!(received.inform_ack, Some(InformAckOutcome::Sent)));
        assert_eq!(next_response_id(&client).await, 4);
    }
}

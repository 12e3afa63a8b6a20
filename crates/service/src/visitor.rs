//! A customer on the Client API (an API inbox's front end, the website widget): who they are
//! and which conversations they may see — `throughline_core::visibility`, applied.

use throughline_core::model::{Contact, Conversation, Identity, Inbox};
use throughline_core::visibility::{Owner, Viewer, proven, visitor_sees};
use throughline_store::{AccountScope, Conn, Result, StoreError, contacts, conversations, moves};

/// The inbox, the visitor's identity and contact, and a scope limited to that contact.
#[derive(Clone, Debug)]
pub struct Visitor {
    pub inbox: Inbox,
    pub identity: Identity,
    pub contact: Contact,
    pub scope: AccountScope,
}

impl Visitor {
    /// Looks the visitor up by the source id their inbox gave them.
    pub async fn find(conn: &mut Conn, inbox: Inbox, source_id: &str) -> Result<Self> {
        let system = AccountScope::system(inbox.account_id);
        let identity = contacts::identity_by_source(conn, &system, inbox.id, source_id).await?;
        let contact = contacts::get(conn, &system, identity.contact_id).await?;
        let scope = if proven(&identity) {
            AccountScope::proven_contact(inbox.account_id, contact.id)
        } else {
            AccountScope::contact(inbox.account_id, contact.id, inbox.id)
        };
        Ok(Self {
            inbox,
            identity,
            contact,
            scope,
        })
    }

    pub fn viewer(&self) -> Viewer {
        Viewer::of(&self.identity)
    }

    /// A visitor whose identity proves who they are sees the contact's whole cross-channel
    /// conversation; others only what their own identity started.
    pub fn proven(&self) -> bool {
        proven(&self.identity)
    }

    pub fn sees(&self, c: &Conversation) -> bool {
        visitor_sees(self.viewer(), Owner::of(c))
    }

    /// A conversation of this visitor, by display id. One an agent merged away lives on in
    /// the one it was merged into: the visitor follows it there when allowed to see that one
    /// (else keeps the old view; what they write still reaches the merged conversation).
    pub async fn conversation(&self, conn: &mut Conn, display_id: i64) -> Result<Conversation> {
        let c = conversations::get(conn, &self.scope, display_id).await?;
        if !self.sees(&c) {
            return Err(StoreError::NotFound);
        }
        let target = moves::current(conn, c.clone()).await?;
        Ok(if self.sees(&target) { target } else { c })
    }

    /// Where what the visitor writes in `display_id` goes: the conversation itself, or the
    /// one an agent merged it into (even when the visitor cannot see that one).
    pub async fn conversation_to_write(
        &self,
        conn: &mut Conn,
        display_id: i64,
    ) -> Result<Conversation> {
        let c = self.conversation(conn, display_id).await?;
        moves::current(conn, c).await
    }

    /// The conversations the visitor may see, most recent first.
    pub async fn conversations(&self, conn: &mut Conn) -> Result<Vec<Conversation>> {
        let list = if self.proven() {
            conversations::of_contact(conn, &self.scope, self.contact.id).await?
        } else {
            conversations::of_identity(conn, &self.scope, self.identity.id).await?
        };
        Ok(list.into_iter().filter(|c| self.sees(c)).collect())
    }
}

//! A stand-in DNS server for the organization-domain proofs: one per test
//! binary, on a loopback UDP port, answering TXT questions from records the
//! tests publish (`publish_txt`), NXDOMAIN for every other name. It runs on
//! a thread of its own, so it outlives each test's runtime.

use std::collections::HashMap;
use std::net::{SocketAddr, UdpSocket};
use std::sync::{Mutex, OnceLock};

use hickory_proto::op::{Message, MessageType, ResponseCode};
use hickory_proto::rr::rdata::TXT;
use hickory_proto::rr::{RData, Record, RecordType};

struct Zone {
    address: SocketAddr,
    records: Mutex<HashMap<String, Vec<String>>>,
}

fn zone() -> &'static Zone {
    static ZONE: OnceLock<Zone> = OnceLock::new();
    ZONE.get_or_init(|| {
        let socket = UdpSocket::bind("127.0.0.1:0").expect("bind the stand-in DNS server");
        let address = socket.local_addr().unwrap();
        std::thread::spawn(move || serve(socket));
        Zone {
            address,
            records: Mutex::new(HashMap::new()),
        }
    })
}

/// Where the stand-in listens (`ONEAUTH_DNS_SERVER` of the test servers).
pub fn server() -> SocketAddr {
    zone().address
}

/// Publish a TXT record (one more value) at `name`.
pub fn publish_txt(name: &str, value: &str) {
    zone()
        .records
        .lock()
        .unwrap()
        .entry(name.trim_end_matches('.').to_ascii_lowercase())
        .or_default()
        .push(value.to_owned());
}

fn serve(socket: UdpSocket) {
    let mut buffer = [0u8; 4096];
    loop {
        let Ok((len, peer)) = socket.recv_from(&mut buffer) else {
            continue;
        };
        let Ok(question) = Message::from_vec(&buffer[..len]) else {
            continue;
        };
        let mut answer = Message::new();
        answer
            .set_id(question.id())
            .set_message_type(MessageType::Response)
            .set_op_code(question.op_code())
            .set_recursion_desired(question.recursion_desired())
            .set_recursion_available(true)
            .set_authoritative(true);
        let mut found = false;
        for query in question.queries() {
            answer.add_query(query.clone());
            let name = query
                .name()
                .to_ascii()
                .trim_end_matches('.')
                .to_ascii_lowercase();
            let values = zone().records.lock().unwrap().get(&name).cloned();
            if let Some(values) = values {
                found = true;
                if query.query_type() == RecordType::TXT {
                    for value in values {
                        answer.add_answer(Record::from_rdata(
                            query.name().clone(),
                            1,
                            RData::TXT(TXT::new(vec![value])),
                        ));
                    }
                }
            }
        }
        if !found {
            answer.set_response_code(ResponseCode::NXDomain);
        }
        if let Ok(bytes) = answer.to_vec() {
            let _ = socket.send_to(&bytes, peer);
        }
    }
}

//! Render + encoding + segment count + cost of one SMS reminder, as a campaign does it for
//! each recipient. Target: at least 500,000 messages a second on one core.
//! Run: `cargo bench -p tidings-tests --bench sms_message`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use tidings_domain::sms;
use tidings_domain::template::{Caps, Format, Placeholder, Template, Values};

fn bench(c: &mut Criterion) {
    let template = Template::compile(
        "body",
        "Hi {{ first_name }}, a reminder of your appointment with {{ practitioner }} on {{ appointment_date }} at {{ appointment_time }}. Reply YES to confirm. {{ clinic_name }}",
        Format::Text,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let caps = Caps::default();
    let names = ["Ann", "Bartholomew", "Zoë", "Mohammed", "Siobhán", "李"];
    let recipients: Vec<Values> = names
        .iter()
        .map(|n| {
            Values::default()
                .with(Placeholder::FirstName, *n)
                .with(Placeholder::Practitioner, "Dr Maya Ng")
                .with(Placeholder::AppointmentDate, "Tue 24 Nov")
                .with(Placeholder::AppointmentTime, "10:30am")
                .with(Placeholder::ClinicName, "Harbour Dental")
        })
        .collect();

    let mut group = c.benchmark_group("sms_message");
    group.throughput(Throughput::Elements(1));
    let mut i = 0;
    group.bench_function("render_encode_segment_cost", |b| {
        b.iter(|| {
            i = (i + 1) % recipients.len();
            let text = template
                .render(black_box(&recipients[i]), &caps)
                .unwrap_or_default();
            let shape = sms::shape(&text);
            black_box(sms::credits(&shape))
        })
    });
    group.bench_function("encode_segment_cost_only", |b| {
        let text = "Hi Ann, a reminder of your appointment with Dr Maya Ng on Tue 24 Nov at 10:30am. Reply YES to confirm. Harbour Dental";
        b.iter(|| black_box(sms::credits(&sms::shape(black_box(text)))))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

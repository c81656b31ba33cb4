// The parameter of an uploaded table borrows the table's memory.
use mmal::LensShadingTable;

fn main() {
    let uploaded = LensShadingTable::unity(52, 39).unwrap().upload().unwrap();
    let parameter = uploaded.parameter();
    drop(uploaded);
    let _ = parameter.vc_handle();
}

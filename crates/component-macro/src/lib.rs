//! `#[derive(ComponentType)]` for `hayate-component`: a struct with named
//! fields becomes a WIT `record`, an enum a WIT `variant` (cases with one
//! payload each, or none) or, when no case has a payload or with
//! `#[component(enum)]`, a WIT `enum`. Field and case names are the Rust
//! names in kebab case (`max_age` is `max-age`, `NotFound` is
//! `not-found`) unless `#[component(name = "...")]` says otherwise. The
//! container attributes `#[component(record)]`, `#[component(variant)]`
//! and `#[component(enum)]` of Wasmtime's derive are accepted.
//!
//! The generated code checks the Rust type against the WIT type by names
//! and lowers and lifts each field or case directly, through the hidden
//! `hayate_component::__derive` helpers.

#![forbid(unsafe_code)]

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote};
use syn::{Attribute, Data, DeriveInput, Fields, Ident, LitStr, parse_macro_input};

/// Derives `hayate_component::ComponentType` (see the crate's docs).
#[proc_macro_derive(ComponentType, attributes(component))]
pub fn derive_component_type(input: proc_macro::TokenStream) -> proc_macro::TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    expand(&input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// What `#[component(...)]` says on the type, a field or a case.
#[derive(Default)]
struct Options {
    name: Option<String>,
    kind: Option<&'static str>,
}

fn options(attrs: &[Attribute]) -> syn::Result<Options> {
    let mut out = Options::default();
    for attr in attrs.iter().filter(|a| a.path().is_ident("component")) {
        attr.parse_nested_meta(|meta| {
            for kind in ["record", "variant", "enum"] {
                if meta.path.is_ident(kind) {
                    out.kind = Some(kind);
                    return Ok(());
                }
            }
            if meta.path.is_ident("name") {
                out.name = Some(meta.value()?.parse::<LitStr>()?.value());
                return Ok(());
            }
            Err(meta.error("expected `record`, `variant`, `enum` or `name = \"...\"`"))
        })?;
    }
    Ok(out)
}

/// `ident` in kebab case: `max_age` and `MaxAge` are both `max-age`.
fn kebab(ident: &Ident) -> String {
    let raw = ident.to_string();
    let raw = raw.strip_prefix("r#").unwrap_or(&raw);
    let mut out = String::new();
    for (i, c) in raw.chars().enumerate() {
        if c == '_' {
            out.push('-');
        } else if c.is_uppercase() {
            if i > 0 && !out.ends_with('-') {
                out.push('-');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// The WIT name of a field or case.
fn wit_name(ident: &Ident, attrs: &[Attribute]) -> syn::Result<String> {
    Ok(options(attrs)?.name.unwrap_or_else(|| kebab(ident)))
}

fn expand(input: &DeriveInput) -> syn::Result<TokenStream> {
    let kind = options(&input.attrs)?.kind;
    let body = match (&input.data, kind) {
        (Data::Struct(s), None | Some("record")) => record(input, &s.fields)?,
        (Data::Enum(e), None | Some("variant") | Some("enum")) => {
            let cases: Vec<&syn::Variant> = e.variants.iter().collect();
            let all_unit = cases.iter().all(|c| matches!(c.fields, Fields::Unit));
            let is_enum = kind == Some("enum") || (kind.is_none() && all_unit);
            variant(input, &cases, is_enum)?
        }
        _ => {
            return Err(syn::Error::new_spanned(
                &input.ident,
                "ComponentType derives for a struct with named fields (a record) or an enum \
                 (a variant or an enum)",
            ));
        }
    };
    let ident = &input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    Ok(quote! {
        const _: () = {
            use ::hayate_component::__derive as __d;
            use ::hayate_component::{AbiContext, ComponentType, Type, Val};
            impl #impl_generics ComponentType for #ident #ty_generics #where_clause {
                #body
            }
        };
    })
}

fn record(input: &DeriveInput, fields: &Fields) -> syn::Result<TokenStream> {
    let Fields::Named(named) = fields else {
        return Err(syn::Error::new_spanned(
            &input.ident,
            "a record needs named fields",
        ));
    };
    let rust = input.ident.to_string();
    let ident = &input.ident;
    let idents: Vec<&Ident> = named
        .named
        .iter()
        .filter_map(|f| f.ident.as_ref())
        .collect();
    let types: Vec<&syn::Type> = named.named.iter().map(|f| &f.ty).collect();
    let names = named
        .named
        .iter()
        .map(|f| wit_name(f.ident.as_ref().expect("named"), &f.attrs))
        .collect::<syn::Result<Vec<_>>>()?;
    let index = 0..idents.len();
    let index2 = index.clone();
    let index3 = index.clone();
    let index4 = index.clone();
    Ok(quote! {
        fn typecheck(ty: &Type) -> __d::Result<()> {
            __d::typecheck_record(ty, #rust, &[#( (#names, <#types as ComponentType>::typecheck) ),*])
        }
        fn into_val(self) -> Val {
            Val::Record(::std::vec![#(
                (::std::string::String::from(#names), ComponentType::into_val(self.#idents))
            ),*])
        }
        fn from_val(val: Val) -> __d::Result<Self> {
            let mut values = __d::record_values(val, &[#(#names),*])?;
            Ok(#ident {#(
                #idents: <#types as ComponentType>::from_val(__d::next_value(&mut values)?)?,
            )*})
        }
        fn lower_flat(
            self,
            cx: &mut AbiContext<'_>,
            ty: &Type,
            out: &mut ::std::vec::Vec<__d::Core>,
        ) -> __d::Result<()> {
            let fields = __d::record_fields(ty)?;
            #( ComponentType::lower_flat(self.#idents, cx, __d::field(fields, #index)?, out)?; )*
            Ok(())
        }
        fn store(self, cx: &mut AbiContext<'_>, ty: &Type, ptr: u32) -> __d::Result<()> {
            let fields = __d::record_fields(ty)?;
            let mut end = 0;
            #({
                let t = __d::field(fields, #index2)?;
                ComponentType::store(self.#idents, cx, t, __d::field_ptr(ptr, &mut end, t)?)?;
            })*
            Ok(())
        }
        fn lift_flat(
            cx: &mut AbiContext<'_>,
            ty: &Type,
            flat: &mut dyn ::std::iter::Iterator<Item = __d::Core>,
        ) -> __d::Result<Self> {
            let fields = __d::record_fields(ty)?;
            Ok(#ident {#(
                #idents: <#types as ComponentType>::lift_flat(cx, __d::field(fields, #index3)?, flat)?,
            )*})
        }
        fn load(cx: &mut AbiContext<'_>, ty: &Type, ptr: u32) -> __d::Result<Self> {
            let fields = __d::record_fields(ty)?;
            let mut end = 0;
            Ok(#ident {#(
                #idents: {
                    let t = __d::field(fields, #index4)?;
                    <#types as ComponentType>::load(cx, t, __d::field_ptr(ptr, &mut end, t)?)?
                },
            )*})
        }
    })
}

/// One case of a Rust enum: its name, WIT name and payload type.
struct Case<'a> {
    ident: &'a Ident,
    name: String,
    payload: Option<&'a syn::Type>,
}

fn case(c: &syn::Variant) -> syn::Result<Case<'_>> {
    let payload = match &c.fields {
        Fields::Unit => None,
        Fields::Unnamed(f) if f.unnamed.len() == 1 => Some(&f.unnamed[0].ty),
        _ => {
            return Err(syn::Error::new_spanned(
                c,
                "a case has one unnamed payload, `Case(T)`, or none",
            ));
        }
    };
    Ok(Case {
        ident: &c.ident,
        name: wit_name(&c.ident, &c.attrs)?,
        payload,
    })
}

fn variant(
    input: &DeriveInput,
    cases: &[&syn::Variant],
    is_enum: bool,
) -> syn::Result<TokenStream> {
    let cases = cases
        .iter()
        .map(|c| case(c))
        .collect::<syn::Result<Vec<_>>>()?;
    if is_enum && let Some(c) = cases.iter().find(|c| c.payload.is_some()) {
        return Err(syn::Error::new_spanned(
            c.ident,
            "an enum's cases have no payload",
        ));
    }
    let rust = input.ident.to_string();
    let ident = &input.ident;
    let v = format_ident!("v", span = Span::call_site());
    let checks = cases.iter().map(|c| {
        let name = &c.name;
        match c.payload {
            Some(t) => quote!((#name, Some(<#t as ComponentType>::typecheck))),
            None => quote!((#name, None)),
        }
    });
    let mut into_val = Vec::new();
    let mut from_val = Vec::new();
    let mut lower = Vec::new();
    let mut store = Vec::new();
    let mut lift = Vec::new();
    let mut load = Vec::new();
    for (index, c) in cases.iter().enumerate() {
        let (case, name) = (c.ident, &c.name);
        match c.payload {
            Some(t) => {
                into_val.push(quote! {
                    #ident::#case(#v) => __d::make_case(#is_enum, #name, Some(ComponentType::into_val(#v)))
                });
                from_val.push(quote! {
                    #name => Ok(#ident::#case(<#t as ComponentType>::from_val(__d::payload(payload)?)?))
                });
                lower.push(quote! {
                    #ident::#case(#v) => __d::lower_case(ty, #index, out, |out| {
                        ComponentType::lower_flat(#v, cx, __d::case_type(ty, #index)?, out)
                    })
                });
                store.push(quote! {
                    #ident::#case(#v) => {
                        let at = __d::store_case(cx, ty, #index, ptr)?;
                        ComponentType::store(#v, cx, __d::case_type(ty, #index)?, at)
                    }
                });
                lift.push(quote! {
                    #index => Ok(#ident::#case(<#t as ComponentType>::lift_flat(
                        cx,
                        __d::case_type(ty, #index)?,
                        &mut payload.into_iter(),
                    )?))
                });
                load.push(quote! {
                    #index => Ok(#ident::#case(<#t as ComponentType>::load(cx, __d::case_type(ty, #index)?, at)?))
                });
            }
            None => {
                into_val.push(quote!(#ident::#case => __d::make_case(#is_enum, #name, None)));
                from_val.push(quote!(#name => Ok(#ident::#case)));
                lower.push(quote!(#ident::#case => __d::lower_case(ty, #index, out, |_| Ok(()))));
                store.push(quote!(#ident::#case => __d::store_case(cx, ty, #index, ptr).map(drop)));
                lift.push(quote!(#index => Ok(#ident::#case)));
                load.push(quote!(#index => Ok(#ident::#case)));
            }
        }
    }
    Ok(quote! {
        fn typecheck(ty: &Type) -> __d::Result<()> {
            __d::typecheck_cases(ty, #rust, #is_enum, &[#(#checks),*])
        }
        fn into_val(self) -> Val {
            match self { #(#into_val,)* }
        }
        #[allow(unused_variables)]
        fn from_val(val: Val) -> __d::Result<Self> {
            let (name, payload) = __d::case_value(val)?;
            match name.as_str() {
                #(#from_val,)*
                other => __d::unknown_case(other, #rust),
            }
        }
        fn lower_flat(
            self,
            cx: &mut AbiContext<'_>,
            ty: &Type,
            out: &mut ::std::vec::Vec<__d::Core>,
        ) -> __d::Result<()> {
            match self { #(#lower,)* }
        }
        fn store(self, cx: &mut AbiContext<'_>, ty: &Type, ptr: u32) -> __d::Result<()> {
            match self { #(#store,)* }
        }
        #[allow(unused_variables)]
        fn lift_flat(
            cx: &mut AbiContext<'_>,
            ty: &Type,
            flat: &mut dyn ::std::iter::Iterator<Item = __d::Core>,
        ) -> __d::Result<Self> {
            let (index, payload) = __d::lift_case(ty, flat)?;
            match index {
                #(#lift,)*
                other => __d::unknown_case(&other.to_string(), #rust),
            }
        }
        #[allow(unused_variables)]
        fn load(cx: &mut AbiContext<'_>, ty: &Type, ptr: u32) -> __d::Result<Self> {
            let (index, at) = __d::load_case(cx, ty, ptr)?;
            match index {
                #(#load,)*
                other => __d::unknown_case(&other.to_string(), #rust),
            }
        }
    })
}
